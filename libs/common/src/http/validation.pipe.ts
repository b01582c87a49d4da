import {
  ArgumentMetadata,
  BadRequestException,
  ValidationError,
  ValidationPipe,
} from '@nestjs/common';

/** A 400 from validation lists at most this many messages, each at most this long. */
export const MAX_VALIDATION_MESSAGES = 10;
export const MAX_VALIDATION_MESSAGE_CHARS = 200;
/** Nest's own last message when it leaves errors out (OMITTED_ERRORS_MESSAGE, not exported). */
export const OMITTED_VALIDATION_MESSAGES = 'Further validation errors were omitted';
export const BODY_NOT_AN_OBJECT = 'The request body must be a JSON object';

/**
 * The app's ValidationPipe: unknown fields are a 400, and the answer stays short whatever the
 * input. Nest's pipe answers each unknown key and each item of an array sent for an object with a
 * message of its own, which may quote a key of any length: here the messages are counted and cut
 * (Nest's shape is kept), and an array where an object is expected is one message.
 */
export class AppValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      stopAtFirstError: false,
      // Nest stops collecting messages past this many characters, before they are cut below.
      maxErrorMessagesLength: MAX_VALIDATION_MESSAGES * MAX_VALIDATION_MESSAGE_CHARS,
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && Array.isArray(value) && this.toValidate(metadata)) {
      throw new BadRequestException([BODY_NOT_AN_OBJECT]);
    }
    return super.transform(value, metadata);
  }

  override createExceptionFactory(): (errors?: ValidationError[]) => unknown {
    const detailed = super.createExceptionFactory();
    return (errors) => shortened(detailed(errors));
  }
}

function shortened(exception: unknown): unknown {
  if (!(exception instanceof BadRequestException)) return exception;
  const { message } = exception.getResponse() as { message?: unknown };
  if (!Array.isArray(message)) return exception;
  const all = message.map(String).filter((m) => m !== OMITTED_VALIDATION_MESSAGES);
  const omitted = all.length < message.length || all.length > MAX_VALIDATION_MESSAGES;
  const kept = omitted
    ? [...all.slice(0, MAX_VALIDATION_MESSAGES - 1).map(cut), OMITTED_VALIDATION_MESSAGES]
    : all.map(cut);
  return new BadRequestException(kept);
}

/** Cut to MAX_VALIDATION_MESSAGE_CHARS, never through a surrogate pair. */
function cut(message: string): string {
  if (message.length <= MAX_VALIDATION_MESSAGE_CHARS) return message;
  let end = MAX_VALIDATION_MESSAGE_CHARS - 1;
  const last = message.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${message.slice(0, end)}…`;
}
