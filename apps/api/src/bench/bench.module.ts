import { AiModule } from '@app/ai';
import { Module } from '@nestjs/common';

import { BenchController } from './bench.controller';
import { BenchService } from './bench.service';

/** Baseline endpoints for the benchmark suite (BENCH_ENDPOINTS=true); never needed in production. */
@Module({
  imports: [AiModule],
  controllers: [BenchController],
  providers: [BenchService],
})
export class BenchModule {}
