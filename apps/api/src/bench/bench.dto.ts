import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

export class UpstreamRequestDto {
  @ApiProperty({ minLength: 1, maxLength: 8000 })
  @IsString()
  @Length(1, 8000)
  message!: string;
}

export class UpstreamResponseDto {
  @ApiProperty() response!: string;
  @ApiProperty({ description: 'Dimensions of the embedding the upstream returned' })
  embedding_dims!: number;
}
