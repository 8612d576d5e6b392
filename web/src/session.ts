// Who is signed in, for the header: GET /api/me (401 when nobody is), and log out.
import { api, type User } from './api';
import { byId } from './format';

let current: Promise<User | null> | undefined;

export function currentUser(): Promise<User | null> {
  current ??= api<{ user: User }>('/api/me').then((result) => (result.ok ? result.body.user : null));
  return current;
}

export async function showAccount(): Promise<void> {
  const user = await currentUser();
  for (const item of document.querySelectorAll<HTMLElement>('[data-when]')) {
    const when = item.dataset.when;
    item.hidden = when === 'admin' ? user?.role !== 'admin' : when !== (user ? 'signed-in' : 'signed-out');
  }
  if (user) byId('who').textContent = `Signed in as ${user.name || user.email}`;
  document.getElementById('logout')?.addEventListener('click', async () => {
    await api('/api/auth/logout', { method: 'POST' });
    location.assign('/');
  });
}
