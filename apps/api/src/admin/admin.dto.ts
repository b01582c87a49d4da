import { ApiProperty } from '@nestjs/swagger';

import { UserDto } from '../users/dto/user.dto';

export class AdminUserDto extends UserDto {
  @ApiProperty() session_count!: number;
  @ApiProperty() message_count!: number;
}

export class AdminUserPageDto {
  @ApiProperty({ type: [AdminUserDto] }) items!: AdminUserDto[];
  @ApiProperty() total!: number;
  @ApiProperty() limit!: number;
  @ApiProperty() offset!: number;
}
