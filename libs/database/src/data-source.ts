// Entry point for the TypeORM CLI (`npm run migration:run`, `migration:show`, `migration:revert`).
import '@app/config/preload';

import { loadConfig } from '@app/config';
import { DataSource } from 'typeorm';

import { dataSourceOptions } from './data-source-options';

const config = loadConfig();
export default new DataSource(dataSourceOptions(config.database));
