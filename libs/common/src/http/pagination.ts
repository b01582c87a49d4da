import { Type as Class } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
/**
 * Beyond this an offset is a 400: SQLite refuses one past 2^63 - 1 with a "datatype mismatch" (a
 * 500), and no list holds two billion rows.
 */
export const MAX_OFFSET = 2 ** 31 - 1;

export class PaginationQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit: number = DEFAULT_PAGE_SIZE;

  @ApiPropertyOptional({ minimum: 0, maximum: MAX_OFFSET, default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_OFFSET)
  offset: number = 0;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

const pages = new Map<Class<unknown>, Class<Page<unknown>>>();

/**
 * The list envelope of `item` for the API document: `{items, total, limit, offset}`, one class
 * per item type, named after it (`SessionDto` gives `SessionPageDto`).
 */
export function PageOf<T>(item: Class<T>): Class<Page<T>> {
  const known = pages.get(item);
  if (known) return known as Class<Page<T>>;
  class PageDto implements Page<T> {
    @ApiProperty({ type: [item] }) items!: T[];
    @ApiProperty({ description: 'All items, on every page' }) total!: number;
    @ApiProperty() limit!: number;
    @ApiProperty() offset!: number;
  }
  Object.defineProperty(PageDto, 'name', { value: `${item.name.replace(/Dto$/, '')}PageDto` });
  pages.set(item, PageDto);
  return PageDto;
}
