import { BEARER_AUTH_NAME } from '@app/common';
import { AppConfig } from '@app/config';
import { INestApplication, Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
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
  app.set('trust proxy', config.http.trustProxy);
  app.use(securityHeaders());
  app.useBodyParser('json', { limit: BODY_LIMIT });
  if (config.http.corsOrigins.length > 0) {
    app.enableCors({ origin: config.http.corsOrigins, credentials: false });
  }
  setUpOpenApi(app);
  app.enableShutdownHooks();
  for (const warning of config.warnings) new NestLogger('Config').warn(warning);
  return app;
}

/**
 * Helmet's headers everywhere. The API answers JSON only, so its CSP allows nothing; the Swagger UI
 * under /docs gets helmet's default CSP (its scripts and styles are same-origin, plus inline styles
 * and data: images, which that policy allows), without upgrade-insecure-requests so that it also
 * loads over plain HTTP.
 */
function securityHeaders(): (req: Request, res: Response, next: NextFunction) => void {
  const forApi = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
  });
  const forDocs = helmet({
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
  });
  return (req, res, next) => (/^\/docs(\/|$)/.test(req.path) ? forDocs : forApi)(req, res, next);
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
