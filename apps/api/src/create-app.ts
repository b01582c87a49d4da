import { BEARER_AUTH_NAME } from '@app/common';
import { AppConfig } from '@app/config';
import { INestApplication, Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';

import { APP_NAME, APP_VERSION } from './app-info';
import { AppModule } from './app.module';

export const BODY_LIMIT = '1mb';

/** Builds the application exactly as production runs it; e2e tests use this too. */
export async function createApp(config: AppConfig): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  app.useBodyParser('json', { limit: BODY_LIMIT });
  if (config.http.corsOrigins.length > 0) {
    app.enableCors({ origin: config.http.corsOrigins, credentials: false });
  }
  setUpOpenApi(app);
  app.enableShutdownHooks();
  for (const warning of config.warnings) new NestLogger('Config').warn(warning);
  return app;
}

function setUpOpenApi(app: INestApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle(APP_NAME)
      .setDescription('Chatbot backend with persistent per-user memory')
      .setVersion(APP_VERSION)
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, BEARER_AUTH_NAME)
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
