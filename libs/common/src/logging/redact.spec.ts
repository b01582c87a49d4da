import { isCredentialName, redactByName, redactUrl } from './redact';

describe('redaction of credentials in logs', () => {
  it.each([
    'authorization',
    'proxy-authorization',
    'cookie',
    'x-api-key',
    'x-auth-token',
    'x-upstream-secret',
    'access_token',
    'Access_Token',
    'token',
    'api_key',
    'apikey',
    'key',
    'password',
    'secret',
    'client_secret',
    'refresh_token',
  ])('treats %p as a credential', (name) => {
    expect(isCredentialName(name)).toBe(true);
  });

  it.each([
    'host',
    'user-agent',
    'x-request-id',
    'content-type',
    'accept',
    'limit',
    'offset',
    'user_id',
    'status',
    'monkey',
  ])('keeps %p', (name) => {
    expect(isCredentialName(name)).toBe(false);
  });

  it('replaces the values of credential headers, in a copy', () => {
    const headers = { 'x-api-key': 'k1', 'proxy-authorization': 'Basic x', host: 'h' };
    expect(redactByName(headers)).toEqual({
      'x-api-key': '[Redacted]',
      'proxy-authorization': '[Redacted]',
      host: 'h',
    });
    expect(headers['x-api-key']).toBe('k1');
  });

  it.each([
    ['/a', '/a'],
    ['/a?limit=2', '/a?limit=2'],
    ['/a?access_token=eyJ.x.y', '/a?access_token=[Redacted]'],
    ['/a?limit=2&TOKEN=t&offset=1', '/a?limit=2&TOKEN=[Redacted]&offset=1'],
    ['/a?key=1&key=2', '/a?key=[Redacted]&key=[Redacted]'],
    ['/a?access%5Ftoken=t', '/a?access%5Ftoken=[Redacted]'],
    ['/a?password=p=q&secret=', '/a?password=[Redacted]&secret=[Redacted]'],
    ['/a?%E0%A4%A=v&token', '/a?%E0%A4%A=v&token'],
  ])('redacts %p as %p', (url, logged) => {
    expect(redactUrl(url)).toBe(logged);
  });
});
