import { parseArgs } from 'node:util';
import { createPool } from '../db/pool.ts';
import { createToken, revokeToken, type Role } from '../auth.ts';
import { readConfig } from '../config.ts';
import { resolveDatabaseUrl } from '../db/local-cluster.ts';
import { migrate } from '../db/migrate.ts';

const USAGE = `usage:
  npm run token -- create --name <who> --role viewer|planner|admin
  npm run token -- list
  npm run token -- revoke --id <id>`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { name: { type: 'string' }, role: { type: 'string' }, id: { type: 'string' } },
});
const url = resolveDatabaseUrl(readConfig());
const pool = createPool(url, { max: 1 });
try {
  await migrate(url);
  switch (positionals[0]) {
    case 'create': {
      const role = values.role as Role;
      if (!values.name || !['viewer', 'planner', 'admin'].includes(role)) throw new Error(USAGE);
      const { id, token } = await createToken(pool, values.name, role);
      console.error(`token ${id} for ${values.name} (${role}); it is shown only now:`);
      console.log(token);
      break;
    }
    case 'list': {
      const { rows } = await pool.query(`SELECT id, name, role, created_at, revoked_at FROM api_tokens ORDER BY id`);
      console.table(rows);
      break;
    }
    case 'revoke': {
      if (!values.id) throw new Error(USAGE);
      console.error(
        (await revokeToken(pool, Number(values.id))) ? `revoked token ${values.id}` : `no active token ${values.id}`,
      );
      break;
    }
    default:
      throw new Error(USAGE);
  }
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
