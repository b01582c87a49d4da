import { AppConfig } from '@app/config';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';

/**
 * A replica that leaves cleanly. Closing the application (SIGTERM, through Nest's shutdown hooks)
 * first runs every `onModuleDestroy`, while the HTTP server still accepts requests: from that
 * moment readiness answers 503 SHUTTING_DOWN, and for SHUTDOWN_DRAIN_SECONDS the server keeps
 * serving everything else, so the load balancer takes the replica out before it stops accepting.
 * Then in-flight requests and running jobs finish (beforeApplicationShutdown, the server's close).
 */
@Injectable()
export class ShutdownDrain implements OnModuleDestroy {
  private closing = false;

  constructor(private readonly config: AppConfig) {}

  /** True from the start of the application's close. */
  get draining(): boolean {
    return this.closing;
  }

  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    const seconds = this.config.http.shutdownDrainSeconds;
    if (seconds === 0) return;
    new Logger('Shutdown').log(`not ready; serving for ${seconds} s more before closing`);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  }
}
