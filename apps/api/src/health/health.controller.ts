import { Public } from '@app/common';
import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';

import { MemoryStoreHealthIndicator } from './memory-store.health';

const DATABASE_PING_TIMEOUT_MS = 2000;

@ApiTags('system')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly memoryStore: MemoryStoreHealthIndicator,
  ) {}

  /** Everything the service depends on; 503 when one is down. */
  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.readiness();
  }

  /** Liveness: the process answers. Never touches a dependency, so a slow database cannot kill the pod. */
  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /** Readiness: the dependencies a request needs. */
  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.readiness();
  }

  private readiness(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.db.pingCheck('database', { timeout: DATABASE_PING_TIMEOUT_MS }),
      () => this.memoryStore.check('memory_store'),
    ]);
  }
}
