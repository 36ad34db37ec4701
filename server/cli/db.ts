import { readConfig } from '../config.ts';
import { localDatabaseUrl, startLocalCluster, stopLocalCluster } from '../db/local-cluster.ts';

const command = process.argv[2];
const config = readConfig();

try {
  switch (command) {
    case 'start':
      if (config.databaseUrl) console.error('DATABASE_URL is set: the project-local cluster is not used.');
      else console.log(startLocalCluster(config));
      break;
    case 'stop':
      console.error(
        stopLocalCluster(config) ? 'stopped the project-local cluster' : 'the project-local cluster was not running',
      );
      break;
    case 'url':
      console.log(config.databaseUrl ?? (startLocalCluster(config, () => {}), localDatabaseUrl(config)));
      break;
    default:
      console.error('usage: db.ts start|stop|url');
      process.exitCode = 2;
  }
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exitCode = 1;
}
