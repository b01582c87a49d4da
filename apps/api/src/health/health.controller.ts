import { DATABASE_UNAVAILABLE, ErrorCode, errorBody, Public } from '@app/common';
import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';

import { MemoryStoreHealthIndicator } from './memory-store.health';
import { RedisHealthIndicator } from './redis.health';
import { ShutdownDrain } from './shutdown-drain';

const DATABASE_PING_TIMEOUT_MS = 2000;
const MEMORY_STORE_DOWN = 'The memory store is unavailable; try again';
const REDIS_DOWN = 'Redis (shared rate limits) is unavailable; try again';
const SHUTTING_DOWN = 'The server is shutting down';

/** Terminus's report of a failed check, with the error code of what is down. */
type HealthFailure = Omit<HealthCheckResult, 'status'> & {
  status: 'error';
  statusCode: number;
  message: string;
  code: ErrorCode;
};

const NOT_READY = {
  description:
    "Terminus's report with the error code of what is down: SHUTTING_DOWN (first), " +
    'DATABASE_UNAVAILABLE, RATE_LIMIT_UNAVAILABLE (Redis, when REDIS_URL is set) or ' +
    'MEMORY_STORE_UNAVAILABLE; `error` lists the indicators that are down',
  schema: {
    type: 'object',
    required: ['status', 'statusCode', 'message', 'code', 'error', 'details'],
    properties: {
      status: { type: 'string', enum: ['error'] },
      statusCode: { type: 'integer', enum: [503] },
      message: { type: 'string', example: DATABASE_UNAVAILABLE },
      code: {
        type: 'string',
        enum: [
          ErrorCode.ShuttingDown,
          ErrorCode.DatabaseUnavailable,
          ErrorCode.RateLimitUnavailable,
          ErrorCode.MemoryStoreUnavailable,
        ],
      },
      info: { type: 'object', additionalProperties: true, nullable: true },
      error: {
        type: 'object',
        additionalProperties: true,
        example: { database: { status: 'down' } },
      },
      details: { type: 'object', additionalProperties: true },
    },
  },
};

@ApiTags('system')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly memoryStore: MemoryStoreHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly drain: ShutdownDrain,
  ) {}

  @Get()
  @ApiOperation({
    operationId: 'getHealth',
    summary: 'Everything the service depends on',
    description:
      'The database, the memory store and, when REDIS_URL is set, Redis; 503 when one is down.',
  })
  @ApiServiceUnavailableResponse(NOT_READY)
  @HealthCheck()
  check(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HealthCheckResult | HealthFailure> {
    return this.readiness(reply);
  }

  @Get('live')
  @ApiOperation({
    operationId: 'getLiveness',
    summary: 'Liveness probe: the process answers',
    description:
      'Never touches a dependency (database, Redis, model), so a slow one cannot get the pod killed.',
  })
  // Terminus would document a 503 that a check of nothing never answers.
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOkResponse({
    description: 'The process answers',
    schema: {
      type: 'object',
      properties: {
        status: { type: 'string', enum: ['ok'] },
        info: { type: 'object' },
        error: { type: 'object' },
        details: { type: 'object' },
      },
    },
  })
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @ApiOperation({
    operationId: 'getReadiness',
    summary: 'Readiness probe: the database, the memory store and Redis (if set) answer',
  })
  @ApiServiceUnavailableResponse(NOT_READY)
  @HealthCheck()
  ready(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HealthCheckResult | HealthFailure> {
    return this.readiness(reply);
  }

  private async readiness(reply: FastifyReply): Promise<HealthCheckResult | HealthFailure> {
    if (this.drain.draining) {
      // Not ready whatever the dependencies say; they are not even asked.
      const down = { shutdown: { status: 'down' as const } };
      const { statusCode, message, code } = errorBody(ErrorCode.ShuttingDown, SHUTTING_DOWN);
      void reply.status(statusCode);
      return {
        status: 'error',
        info: {},
        error: down,
        details: down,
        statusCode,
        message: String(message),
        code,
      };
    }
    try {
      return await this.health.check([
        () => this.db.pingCheck('database', { timeout: DATABASE_PING_TIMEOUT_MS }),
        () => this.memoryStore.check('memory_store'),
        ...(this.redis.configured ? [() => this.redis.check('redis')] : []),
      ]);
    } catch (error) {
      const failure = failureOf(error);
      if (!failure) throw error;
      void reply.status(failure.statusCode);
      return failure;
    }
  }
}

/** Terminus answers a failed check with its report in a 503: the report, with a code. */
function failureOf(error: unknown): HealthFailure | undefined {
  if (!(error instanceof ServiceUnavailableException)) return undefined;
  const report = error.getResponse() as HealthCheckResult;
  if (report.status !== 'error') return undefined;
  const down = report.error ?? {};
  const { statusCode, message, code } =
    'database' in down
      ? errorBody(ErrorCode.DatabaseUnavailable, DATABASE_UNAVAILABLE)
      : 'redis' in down
        ? errorBody(ErrorCode.RateLimitUnavailable, REDIS_DOWN)
        : errorBody(ErrorCode.MemoryStoreUnavailable, MEMORY_STORE_DOWN);
  return { ...report, status: 'error', statusCode, message: String(message), code };
}
