import { DomainError, ErrorCode } from '@app/common';
import { plainToInstance } from 'class-transformer';
import { validate, ValidationError } from 'class-validator';

import { ChatCompletionRequestDto } from './openai.dto';

/**
 * The request body, checked as OpenAI checks it: fields it does not read are ignored (the app's
 * global pipe refuses unknown fields; this route does not go through it), and the first problem
 * is answered with the field at fault as OpenAI's `param`.
 */
export async function parseCompletionRequest(body: unknown): Promise<ChatCompletionRequestDto> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new DomainError(ErrorCode.ValidationFailed, 'The request body must be a JSON object');
  }
  const request = plainToInstance(ChatCompletionRequestDto, body);
  const [problem] = await validate(request, { stopAtFirstError: true });
  if (problem) {
    const { param, message } = firstProblem(problem);
    throw new DomainError(ErrorCode.ValidationFailed, message, undefined, { param });
  }
  return request;
}

/** The deepest problem of the first field at fault, and its path (`messages[2].content`). */
function firstProblem(error: ValidationError, path = ''): { param: string; message: string } {
  const name = /^\d+$/.test(error.property) ? `[${error.property}]` : error.property;
  const param = path === '' || name.startsWith('[') ? `${path}${name}` : `${path}.${name}`;
  const [child] = error.children ?? [];
  if (child && !error.constraints) return firstProblem(child, param);
  const message = Object.values(error.constraints ?? {})[0] ?? `${param} is invalid`;
  // class-validator names only the last property (`role must be …`): say where it is.
  return { param, message: param === error.property ? message : `${param}: ${message}` };
}
