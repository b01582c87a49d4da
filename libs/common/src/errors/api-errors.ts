import { ApiProperty, ApiPropertyOptional, DECORATORS, getSchemaPath } from '@nestjs/swagger';
import type { OpenAPIObject } from '@nestjs/swagger';
import type {
  OperationObject,
  ParameterObject,
  ReferenceObject,
  ResponseObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

import { isOpenAiRoute } from './openai-routes';
import { ERROR_CODES, ErrorCode, ERRORS } from './error-codes';

/** Every error answer, as AllExceptionsFilter sends it. */
export class ErrorResponseDto {
  @ApiProperty({ example: 409, description: 'The HTTP status, repeated' })
  statusCode!: number;

  @ApiProperty({ example: 'Conflict', description: "The status's reason phrase" })
  error!: string;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: 'Username is already taken',
    description:
      'For people, not for branching: the wording may change. A list of problems for VALIDATION_FAILED from validation',
  })
  message!: string | string[];

  @ApiProperty({
    enum: ErrorCode,
    enumName: 'ErrorCode',
    example: ErrorCode.UsernameTaken,
    description: 'What a client branches on: stable',
  })
  code!: ErrorCode;

  @ApiPropertyOptional({ description: 'With INTERNAL only: quote it when reporting the problem' })
  request_id?: string;
}

/** OpenAI's error object, as the OpenAI-compatible routes (`/v1/...`) answer it. */
export class OpenAiErrorDto {
  @ApiProperty({ description: 'For people: the same message as the REST API gives' })
  message!: string;

  @ApiProperty({
    example: 'invalid_request_error',
    description:
      "OpenAI's type: `invalid_request_error` (4xx), `requests` (429), `server_error` (5xx)",
  })
  type!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The request field at fault, if one is',
  })
  param!: string | null;

  @ApiProperty({
    enum: ErrorCode,
    enumName: 'ErrorCode',
    description: 'Stable, as on the REST API',
  })
  code!: ErrorCode;
}

/** Every error answer of the OpenAI-compatible routes, in OpenAI's shape. */
export class OpenAiErrorResponseDto {
  @ApiProperty({ type: OpenAiErrorDto })
  error!: OpenAiErrorDto;
}

const ERROR_CODES_KEY = 'x-error-codes';
const PUBLIC_KEY = 'x-public';

/**
 * Documents the error codes a route (or every route of a controller) can answer beyond those that
 * follow from its shape (see documentErrors). Each appears under its status in the API document.
 */
export function ApiErrors(...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  return (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    for (const handler of handlersOf(target, descriptor)) {
      const known = (extensionsOf(handler)[ERROR_CODES_KEY] as ErrorCode[] | undefined) ?? [];
      extend(handler, ERROR_CODES_KEY, [...new Set([...known, ...codes])]);
    }
  };
}

/** Marks routes the document lists with `security: []` (the @Public() ones). */
export function ApiPublic(): MethodDecorator & ClassDecorator {
  return (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    for (const handler of handlersOf(target, descriptor)) extend(handler, PUBLIC_KEY, true);
  };
}

/** Adds the codes to the handler a parameter decorator is applied to. */
export function documentParameterErrors(
  target: object,
  key: string | symbol | undefined,
  codes: ErrorCode[],
): void {
  const descriptor = key === undefined ? undefined : Object.getOwnPropertyDescriptor(target, key);
  if (descriptor) ApiErrors(...codes)(target, key as string | symbol, descriptor);
}

/** What every route that needs a token can answer, the guard having read the database. */
export const AUTHENTICATED_ERRORS = [
  ErrorCode.TokenInvalid,
  ErrorCode.DatabaseUnavailable,
  ErrorCode.DatabaseBusy,
];
/** What the body parser, the shape limits and the validation pipe answer for a JSON body. */
export const BODY_ERRORS = [
  ErrorCode.ValidationFailed,
  ErrorCode.MalformedJson,
  ErrorCode.BodyTooComplex,
  ErrorCode.BodyTooLarge,
  ErrorCode.UnsupportedMediaType,
];

/**
 * Completes the document built from the decorators: each operation's security (`[]` for public
 * ones), and a response for each error status it can answer, in ErrorResponseDto's shape with the
 * codes it can carry. Codes come from @ApiErrors and from the operation's shape: every operation
 * can fail (INTERNAL), one with a token meets the guard, one with a body or a query meets the
 * parsers and validation. A status the decorators already describe otherwise (a health report)
 * is left as it is.
 */
export function documentErrors(document: OpenAPIObject, bearerName: string): OpenAPIObject {
  for (const [url, path] of Object.entries(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = path[method];
      if (operation) completeOperation(operation as Extensible, bearerName, isOpenAiRoute(url));
    }
  }
  const schemas = document.components?.schemas ?? {};
  const codeSchema = schemas.ErrorCode;
  if (codeSchema && !('$ref' in codeSchema)) {
    codeSchema.description = ERROR_CODES.map(
      (code) => `- \`${code}\` (${ERRORS[code].status}): ${ERRORS[code].when}`,
    ).join('\n');
  }
  return document;
}

type Extensible = OperationObject & Record<string, unknown>;

function completeOperation(operation: Extensible, bearerName: string, openAi: boolean): void {
  const isPublic = operation[PUBLIC_KEY] === true;
  const codes = new Set((operation[ERROR_CODES_KEY] as ErrorCode[] | undefined) ?? []);
  delete operation[PUBLIC_KEY];
  delete operation[ERROR_CODES_KEY];
  operation.security = isPublic ? [] : (operation.security ?? [{ [bearerName]: [] }]);
  codes.add(ErrorCode.Internal);
  if (!isPublic) AUTHENTICATED_ERRORS.forEach((code) => codes.add(code));
  if (operation.requestBody) BODY_ERRORS.forEach((code) => codes.add(code));
  if ((operation.parameters ?? []).some((p) => isQueryParameter(p))) {
    codes.add(ErrorCode.ValidationFailed);
  }
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of ERROR_CODES.filter((c) => codes.has(c))) {
    const { status } = ERRORS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, list] of byStatus) {
    const existing = operation.responses[status] as ResponseObject | undefined;
    if (existing && !isErrorResponse(existing)) continue;
    operation.responses[status] = errorResponse(list, openAi);
  }
}

function errorResponse(codes: ErrorCode[], openAi: boolean): ResponseObject {
  const code = { type: 'object', properties: { code: { type: 'string', enum: codes } } };
  const schema = openAi
    ? {
        allOf: [
          { $ref: getSchemaPath(OpenAiErrorResponseDto) },
          { type: 'object', properties: { error: code } },
        ],
      }
    : { allOf: [{ $ref: getSchemaPath(ErrorResponseDto) }, code] };
  return {
    description: codes.map((c) => `- \`${c}\`: ${ERRORS[c].when}`).join('\n'),
    content: { 'application/json': { schema } },
  };
}

function isErrorResponse(response: ResponseObject): boolean {
  const schema = JSON.stringify(response.content?.['application/json']?.schema ?? {});
  return [ErrorResponseDto, OpenAiErrorResponseDto].some((dto) =>
    schema.includes(getSchemaPath(dto)),
  );
}

function isQueryParameter(parameter: ParameterObject | ReferenceObject): boolean {
  return 'in' in parameter && parameter.in === 'query';
}

type Handler = (...args: unknown[]) => unknown;

/** The handler a method decorator is given, or every method of the class a class decorator is. */
function handlersOf(target: object, descriptor?: PropertyDescriptor): Handler[] {
  if (descriptor) return [descriptor.value as Handler];
  const prototype = (target as { prototype: object }).prototype;
  return Object.getOwnPropertyNames(prototype)
    .filter((name) => name !== 'constructor')
    .map((name) => Object.getOwnPropertyDescriptor(prototype, name)?.value as unknown)
    .filter((value): value is Handler => typeof value === 'function');
}

function extensionsOf(handler: Handler): Record<string, unknown> {
  return (Reflect.getMetadata(DECORATORS.API_EXTENSION, handler) as Record<string, unknown>) ?? {};
}

function extend(handler: Handler, key: string, value: unknown): void {
  Reflect.defineMetadata(
    DECORATORS.API_EXTENSION,
    { ...extensionsOf(handler), [key]: value },
    handler,
  );
}
