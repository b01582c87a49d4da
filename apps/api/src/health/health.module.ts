import { AiModule } from '@app/ai';
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';

import { ChatHealthController } from './chat-health.controller';
import { HealthController } from './health.controller';
import { MemoryStoreHealthIndicator } from './memory-store.health';
import { RedisHealthIndicator } from './redis.health';
import { ShutdownDrain } from './shutdown-drain';
import { SystemController } from './system.controller';

@Module({
  imports: [AiModule, TerminusModule.forRoot({ logger: false })],
  controllers: [ChatHealthController, HealthController, SystemController],
  providers: [MemoryStoreHealthIndicator, RedisHealthIndicator, ShutdownDrain],
})
export class HealthModule {}
