/**
 * One canonical form for the names people log in with, so that every spelling of one identity
 * reaches one account (and one failed-login budget), and look-alikes of another identity are
 * refused at registration. The database compares these columns byte for byte (binary collation
 * on MySQL/MariaDB, SQLite's default), so it agrees with this code on every dialect.
 */

export const USERNAME_RULE = 'username must be 3-32 characters of letters, digits, "_", "." or "-"';
const USERNAME = /^[a-z0-9_.-]{3,32}$/;
/** Separators that are easy to overlook: `root_admin`, `root.admin` and `rootadmin` look alike. */
const SEPARATORS = /[_.-]/g;
/** Characters read alike in many fonts (a subset of Unicode's confusables, for what we allow). */
const LOOK_ALIKE: Record<string, string> = { '0': 'o', '1': 'l', i: 'l' };

/**
 * Names nobody registers for themselves: they would pass for the service or its staff. The
 * configured admin (ADMIN_USERNAME) and the CLI may still use them.
 */
export const RESERVED_USERNAMES = new Set(
  [
    'admin',
    'administrator',
    'root',
    'system',
    'sysadmin',
    'support',
    'help',
    'helpdesk',
    'security',
    'staff',
    'moderator',
    'owner',
    'official',
    'service',
    'operator',
    'superuser',
    'webmaster',
    'postmaster',
    'hostmaster',
    'abuse',
    'noreply',
    'no-reply',
    'null',
    'undefined',
    'anonymous',
    'bot',
    'assistant',
    'chatbot',
  ].map(skeleton),
);

/** NFKC, trimmed, lower-cased: what is stored and what a login is looked up by. */
export function canonical(text: string): string {
  return text.normalize('NFKC').trim().toLowerCase();
}

/**
 * The form two usernames that look alike share: no separators, and characters that pass for each
 * other mapped to one of them. Stored beside the username with a unique index.
 */
export function skeleton(username: string): string {
  return canonical(username)
    .replace(SEPARATORS, '')
    .replace(/[01i]/g, (c) => LOOK_ALIKE[c]);
}

/** Why a (canonical) username cannot be registered; undefined when it can. */
export function usernameProblem(username: string): string | undefined {
  if (!USERNAME.test(username)) return USERNAME_RULE;
  if (!/^[a-z0-9].*[a-z0-9]$/.test(username)) {
    return 'username must start and end with a letter or a digit';
  }
  if (/[_.-]{2}/.test(username)) return 'username must not have two separators in a row';
  return undefined;
}

const INVISIBLE_OR_CONTROL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}]/u;
const WHITESPACE = /\s/u;
/** A DNS name in ASCII (an internationalised domain goes in its xn-- form). */
const ASCII_DOMAIN =
  /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;
/** Scripts a letter can belong to; Han, Hiragana and Katakana are written together (Japanese). */
const SCRIPTS: [string, RegExp][] = [
  ['Latin', /\p{Script=Latin}/u],
  ['Cyrillic', /\p{Script=Cyrillic}/u],
  ['Greek', /\p{Script=Greek}/u],
  ['Armenian', /\p{Script=Armenian}/u],
  ['Hebrew', /\p{Script=Hebrew}/u],
  ['Arabic', /\p{Script=Arabic}/u],
  ['Devanagari', /\p{Script=Devanagari}/u],
  ['Thai', /\p{Script=Thai}/u],
  ['Hangul', /\p{Script=Hangul}/u],
  ['Japanese', /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u],
  ['Georgian', /\p{Script=Georgian}/u],
];

/** The scripts the letters of `text` are written in (digits and punctuation belong to none). */
function scriptsOf(text: string): Set<string> {
  const found = new Set<string>();
  for (const char of text) {
    if (!/\p{L}/u.test(char)) continue;
    found.add(SCRIPTS.find(([, pattern]) => pattern.test(char))?.[0] ?? 'Other');
  }
  return found;
}

/**
 * Why a (canonical) email address cannot be registered; undefined when it can. On top of a valid
 * address (checked by the DTO): no invisible or control characters, no quoted local part, a
 * domain in ASCII, and a local part written in one script, so that `аdmin@…` (Cyrillic а) cannot
 * pass for `admin@…`.
 */
export function emailProblem(email: string): string | undefined {
  if (INVISIBLE_OR_CONTROL.test(email) || WHITESPACE.test(email)) {
    return 'email must not contain spaces, invisible or control characters';
  }
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (at <= 0 || local.includes('"') || local.includes('@')) {
    return 'email must be a plain address (no quoted parts)';
  }
  if (!ASCII_DOMAIN.test(domain)) {
    return 'email domain must be written in ASCII (use the xn-- form of an international domain)';
  }
  if (scriptsOf(local).size > 1) {
    return 'email must not mix letters of different scripts';
  }
  return undefined;
}
