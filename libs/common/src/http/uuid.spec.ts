import { canonicalUuid } from './uuid';

describe('canonicalUuid', () => {
  const id = '3f0c8a4e-9b2d-4c1a-8e7f-0a1b2c3d4e5f';

  it('lower-cases a UUID in any case', () => {
    expect(canonicalUuid(id)).toBe(id);
    expect(canonicalUuid(id.toUpperCase())).toBe(id);
    expect(canonicalUuid('3F0c8A4e-9B2d-4C1a-8E7f-0A1b2C3d4E5f')).toBe(id);
  });

  it.each([
    'not-a-uuid',
    '*',
    '',
    `${id}x`,
    ` ${id}`,
    id.replace(/-/g, ''),
    "1' OR '1'='1",
    '0'.repeat(36),
  ])('refuses %p', (value) => {
    expect(canonicalUuid(value)).toBeNull();
  });

  it('refuses what is not a string', () => {
    expect(canonicalUuid(undefined)).toBeNull();
    expect(canonicalUuid(42)).toBeNull();
    expect(canonicalUuid([id])).toBeNull();
  });

  it('checks the version only when asked', () => {
    const nil = '00000000-0000-0000-0000-000000000000';
    expect(canonicalUuid(nil)).toBe(nil);
    expect(canonicalUuid(nil, '4')).toBeNull();
    expect(canonicalUuid(id.toUpperCase(), '4')).toBe(id);
  });
});
