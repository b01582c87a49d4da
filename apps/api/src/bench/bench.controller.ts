import { ApiErrors, Authenticated, ErrorCode } from '@app/common';
import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { UpstreamRequestDto, UpstreamResponseDto } from './bench.dto';
import { BenchService } from './bench.service';

/** Baselines for `npm run bench`; only registered with BENCH_ENDPOINTS=true. */
@ApiTags('bench')
@Authenticated()
@Controller('api/v1/bench')
export class BenchController {
  constructor(private readonly bench: BenchService) {}

  @Post('upstream')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'benchUpstream',
    summary: 'One embedding and one chat completion, as a turn makes them',
  })
  @ApiOkResponse({ type: UpstreamResponseDto })
  @ApiErrors(ErrorCode.ModelNotConfigured, ErrorCode.ModelFailed, ErrorCode.ModelTimeout)
  upstream(@Body() dto: UpstreamRequestDto): Promise<UpstreamResponseDto> {
    return this.bench.upstreamOnly(dto.message);
  }
}
