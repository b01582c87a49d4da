import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';

import { RegisterDto } from './auth.dto';
import { COMMON_PASSWORD, PASSWORD_IS_NAME, passwordProblem } from './password.validator';

describe('passwordProblem', () => {
  it.each(['password', 'password123', 'PassWord123', '12345678', 'qwertyuiop', 'iloveyou1'])(
    'refuses the common password %s',
    (password) => expect(passwordProblem(password)).toBe(COMMON_PASSWORD),
  );

  it.each([
    'correct horse battery',
    'long enough pw',
    'admin password 1',
    'password123 but longer',
  ])('accepts %s', (password) => expect(passwordProblem(password)).toBeUndefined());

  it('refuses the username or the email, in any case', () => {
    const form = { username: 'Mallory_99', email: 'mallory@example.com' };
    expect(passwordProblem('mallory_99', form)).toBe(PASSWORD_IS_NAME);
    expect(passwordProblem('MALLORY@example.com', form)).toBe(PASSWORD_IS_NAME);
    expect(passwordProblem('mallory_99!', form)).toBeUndefined();
  });
});

describe('RegisterDto password', () => {
  const messagesFor = (body: Record<string, unknown>) =>
    validateSync(plainToInstance(RegisterDto, body)).flatMap((e) =>
      Object.values(e.constraints ?? {}),
    );

  it('carries the reason in the validation message', () => {
    const base = { username: 'frank_1', email: 'frank@example.com' };
    expect(messagesFor({ ...base, password: 'Password123' })).toEqual([COMMON_PASSWORD]);
    expect(messagesFor({ ...base, password: 'FRANK_1xx' })).toEqual([]);
    expect(messagesFor({ ...base, password: 'frank_1a' })).toEqual([]);
    expect(messagesFor({ username: 'frank_12', email: base.email, password: 'Frank_12' })).toEqual([
      PASSWORD_IS_NAME,
    ]);
    expect(messagesFor({ ...base, password: 'fine and long' })).toEqual([]);
  });
});
