import { canonical, emailProblem, RESERVED_USERNAMES, skeleton, usernameProblem } from './identity';

describe('identity', () => {
  it('canonicalises with NFKC, trimming and lower case', () => {
    expect(canonical('  ＡＬＩＣＥ ')).toBe('alice');
    expect(canonical('Alice@Example.COM')).toBe('alice@example.com');
    expect(canonical('ﬁona')).toBe('fiona');
  });

  it('gives look-alike usernames one skeleton', () => {
    const root = skeleton('root_admin');
    for (const lookAlike of [
      'root.admin',
      'rootadmin',
      'root-admin.',
      'r00t_admin',
      'ROOT_ADM1N',
    ]) {
      expect(skeleton(lookAlike)).toBe(root);
    }
    expect(skeleton('root_admins')).not.toBe(root);
    expect(RESERVED_USERNAMES.has(skeleton('Adm1n'))).toBe(true);
    expect(RESERVED_USERNAMES.has(skeleton('alice'))).toBe(false);
  });

  it.each([
    ['ab', 'username must be 3-32'],
    ['a'.repeat(33), 'username must be 3-32'],
    ['root_admin.', 'start and end with a letter or a digit'],
    ['_alice', 'start and end with a letter or a digit'],
    ['al__ice', 'two separators in a row'],
    ['alïce', 'username must be 3-32'],
  ])('refuses the username %p', (username, problem) => {
    expect(usernameProblem(username)).toContain(problem);
  });

  it.each(['alice', 'bob_9', 'j.doe-2', '007'])('accepts the username %p', (username) => {
    expect(usernameProblem(username)).toBeUndefined();
  });

  it.each([
    ['аdmin@example.com', 'mix letters of different scripts'], // Cyrillic а + Latin
    ['admin\u200b@example.com', 'invisible or control'],
    ['admin@ex\u00adample.com', 'invisible or control'], // soft hyphen
    ['admin@exаmple.com', 'domain must be written in ASCII'], // Cyrillic а in the domain
    ['"admin"@example.com', 'no quoted parts'],
    ['ad min@example.com', 'spaces'],
    ['admin@example', 'domain must be written in ASCII'],
  ])('refuses the email %p', (email, problem) => {
    expect(emailProblem(canonical(email))).toContain(problem);
  });

  it.each([
    'alice@example.com',
    'j.doe+chat@mail.example.org',
    'админ@xn--80aswg.xn--p1ai', // one script in the local part, the domain in its xn-- form
    'ｂｏｂ@example.com', // full-width becomes plain ASCII
  ])('accepts the email %p', (email) => {
    expect(emailProblem(canonical(email))).toBeUndefined();
  });
});
