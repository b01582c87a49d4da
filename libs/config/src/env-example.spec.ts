import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const source = (file: string) => readFileSync(join(__dirname, file), 'utf8');

/** Every variable the configuration reads, in load-config.ts and preload.ts. */
function variablesRead(): string[] {
  const names = new Set<string>();
  // read.int('NAME', …) and helpers called as helper(read, 'NAME').
  const reads = /(?:read\.\w+\(|\(read,)\s*'([A-Z0-9_]+)'/g;
  for (const match of source('load-config.ts').matchAll(reads)) {
    names.add(match[1]);
  }
  for (const match of source('preload.ts').matchAll(/env\.([A-Z0-9_]+)/g)) names.add(match[1]);
  return [...names].sort();
}

/**
 * `.env.example` is the one full list of variables (docs/configuration.md explains them): a
 * variable the code reads and the file does not name would be a setting nobody can find.
 */
describe('.env.example', () => {
  const example = readFileSync(join(root, '.env.example'), 'utf8');

  it('names every variable the configuration reads', () => {
    const read = variablesRead();
    expect(read.length).toBeGreaterThan(40);
    const missing = read.filter((name) => !new RegExp(`^#?\\s*${name}=`, 'm').test(example));
    expect(missing).toEqual([]);
  });

  it('names no variable the configuration does not read', () => {
    const read = new Set(variablesRead());
    const listed = [...example.matchAll(/^#\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
    // MYSQL_ROOT_PASSWORD belongs to docker-compose.yml, not to the app.
    expect(listed.filter((name) => !read.has(name) && name !== 'MYSQL_ROOT_PASSWORD')).toEqual([]);
  });
});
