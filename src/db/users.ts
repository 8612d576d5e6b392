import type { users } from './schema';

type UserRow = typeof users.$inferSelect;

export const toUserJson = (user: UserRow) => ({ id: user.id, email: user.email, name: user.name, role: user.role });

/** Postgres's unique_violation, however the driver or Drizzle wrapped it. */
export function isUniqueViolation(error: unknown): boolean {
  for (let e = error as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === '23505') return true;
  }
  return false;
}
