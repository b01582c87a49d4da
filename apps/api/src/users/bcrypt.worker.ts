// Runs inside a worker thread of PasswordHasher's pool (piscina), never on the event loop:
// bcryptjs is plain JavaScript, and one hash at cost 12 is about 0.3 s of CPU.
import { compareSync, hashSync } from 'bcryptjs';

export type BcryptTask =
  | { op: 'hash'; password: string; cost: number }
  | { op: 'verify'; password: string; encoded: string };

/** Piscina calls the default export with each task. */
export default function bcrypt(task: BcryptTask): string | boolean {
  return task.op === 'hash'
    ? hashSync(task.password, task.cost)
    : compareSync(task.password, task.encoded);
}
