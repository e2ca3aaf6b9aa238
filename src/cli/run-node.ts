/**
 * runNode runs a node in the foreground until SIGINT or SIGTERM (drain, stop machines, exit 0);
 * SIGHUP reloads the config file, keeping the running config when the new one is invalid.
 */
import { loadConfig } from '../config/load.ts';
import { createLogger } from '../log.ts';
import { RicochetNode } from '../node.ts';

export async function runNode(options: { configPath: string | null; dev?: boolean }): Promise<number> {
  let loaded;
  try {
    loaded = loadConfig(options.configPath);
  } catch (error) {
    process.stderr.write(`ricochet: ${(error as Error).message}\n`);
    return 1;
  }
  // In dev a person reads the log as it happens: write each line at once.
  const { logger, close: flush } = createLogger(loaded.config.log.level, { sync: options.dev === true });
  for (const w of loaded.warnings) logger.warn({ file: w.file, key: w.key }, w.message);

  let node: RicochetNode;
  try {
    node = await RicochetNode.start(loaded.config, { logger });
  } catch (error) {
    logger.fatal({ err: error }, 'could not start');
    await flush();
    return 1;
  }
  if (options.dev === true) printDevHelp(node);

  return new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'signal received');
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      process.off('SIGHUP', onHup);
      node.stop().then(
        () => flush().then(() => resolve(0)),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          void flush().then(() => resolve(1));
        },
      );
    };
    const onInt = () => shutdown('SIGINT');
    const onTerm = () => shutdown('SIGTERM');
    const onHup = () => {
      try {
        const next = loadConfig(options.configPath);
        for (const w of next.warnings) logger.warn({ file: w.file, key: w.key }, w.message);
        node.reload(next.config).catch((error: unknown) => logger.error({ err: error }, 'reload failed'));
      } catch (error) {
        logger.error({ err: error }, 'config not reloaded: the file is invalid; keeping the running config');
      }
    };
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    process.on('SIGHUP', onHup);
  });
}

function printDevHelp(node: RicochetNode): void {
  const base = node.url(80);
  process.stderr.write(
    [
      '',
      'Ricochet dev is running. Try:',
      `  curl ${base}/          the router app answers itself`,
      `  curl ${base}/a         the router replays to tenant-a (nearest region, iad)`,
      `  curl ${base}/a-west    the router replays to tenant-a in sjc, with a state`,
      `  curl ${base}/b         the router replays to tenant-b (sjc only)`,
      `  curl http://tenant-a.localhost:${base.split(':').pop()}/   tenant-a directly, by its <app>.localhost name`,
      'Idle tenant machines stop after a while; the next request wakes one. Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}
