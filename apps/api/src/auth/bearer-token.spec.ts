import { bearerToken } from './bearer-token';

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl-_';
const of = (authorization?: string) => bearerToken({ headers: { authorization } });

describe('bearerToken', () => {
  it.each([`Bearer ${JWT}`, `bearer ${JWT}`, `BEARER ${JWT}`])('reads %p', (header) => {
    expect(of(header)).toBe(JWT);
  });

  it('reads any token68, padding included', () => {
    expect(of('Bearer abc~+/.-_==')).toBe('abc~+/.-_==');
  });

  it.each([
    undefined,
    '',
    'Bearer',
    'Bearer ',
    `Bearer ${JWT} junk`,
    `Bearer ${JWT} `,
    `Bearer  ${JWT}`,
    `Bearer\t${JWT}`,
    ` Bearer ${JWT}`,
    `Token ${JWT}`,
    `Basic ${JWT}`,
    `Bearer: ${JWT}`,
    JWT,
    `Bearer ${JWT},Basic Zm9v`,
    `Bearer "${JWT}"`,
    `Bearer ${JWT};`,
    `Bearer ${JWT}\n`,
    'Bearer ab=c',
    'Bearer =abc',
    'Bearer tökén',
  ])('refuses %p', (header) => {
    expect(of(header)).toBeNull();
  });
});
