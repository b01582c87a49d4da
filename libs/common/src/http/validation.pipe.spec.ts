import { ArgumentMetadata, BadRequestException } from '@nestjs/common';
import { IsString, Length } from 'class-validator';

import {
  AppValidationPipe,
  BODY_NOT_AN_OBJECT,
  MAX_VALIDATION_MESSAGE_CHARS,
  MAX_VALIDATION_MESSAGES,
  OMITTED_VALIDATION_MESSAGES,
} from './validation.pipe';

class LoginBody {
  @IsString()
  @Length(3, 32)
  username!: string;
}

const asBody: ArgumentMetadata = { type: 'body', metatype: LoginBody };

async function answerTo(value: unknown, metadata = asBody): Promise<unknown> {
  try {
    await new AppValidationPipe().transform(value, metadata);
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);
    return (error as BadRequestException).getResponse();
  }
  throw new Error('accepted');
}

describe('AppValidationPipe', () => {
  it('lets a valid body through as an instance of its class', async () => {
    const dto = await new AppValidationPipe().transform({ username: 'alice' }, asBody);
    expect(dto).toBeInstanceOf(LoginBody);
  });

  it('answers as Nest does when there are few problems', async () => {
    expect(await answerTo({ username: 'al', role: 'admin' })).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: [
        'property role should not exist',
        'username must be longer than or equal to 3 characters',
      ],
    });
  });

  it('lists at most MAX_VALIDATION_MESSAGES messages, the last saying more were left out', async () => {
    const body = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]));
    const answer = (await answerTo({ username: 'alice', ...body })) as { message: string[] };
    expect(answer.message).toHaveLength(MAX_VALIDATION_MESSAGES);
    expect(answer.message.at(-1)).toBe(OMITTED_VALIDATION_MESSAGES);
    expect(answer.message[0]).toBe('property k0 should not exist');
  });

  it('cuts a long message short, never through a surrogate pair', async () => {
    const emoji = (pad: number) => `${'x'.repeat(pad)}${'😀'.repeat(50)}`;
    for (const key of ['x'.repeat(100_000), emoji(170), emoji(171)]) {
      const answer = (await answerTo({ username: 'alice', [key]: 1 })) as { message: string[] };
      expect(answer.message).toHaveLength(1);
      const [message] = answer.message;
      expect(message.length).toBeLessThanOrEqual(MAX_VALIDATION_MESSAGE_CHARS);
      expect(message.endsWith('…')).toBe(true);
      expect(message).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    }
  });

  it('answers an array sent for an object with one message, whatever its length', async () => {
    const answer = await answerTo(new Array(1000).fill({ username: 'alice' }));
    expect(answer).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: [BODY_NOT_AN_OBJECT],
    });
  });
});
