// Sign up and log in: the API sets the HttpOnly session cookie; the page only moves on.
import { api, type User } from './api';
import { byId, localPath, say } from './format';

const WORDS: Record<string, string> = {
  invalid_credentials: 'That email and password do not match an account.',
  email_taken: 'An account with that email already exists. Log in instead?',
  rate_limited: 'Too many attempts. Please wait a little and try again.',
};

export function authPage(): void {
  const form = byId<HTMLFormElement>('auth-form');
  const message = byId('auth-message');
  const kind = form.dataset.kind === 'signup' ? 'signup' : 'login';
  const next = localPath(new URLSearchParams(location.search).get('next'));
  const other = document.getElementById('other-auth') as HTMLAnchorElement | null;
  if (other && next !== '/') other.href += `?next=${encodeURIComponent(next)}`;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body: Record<string, string> = { email: String(data.get('email') ?? '').trim(), password: String(data.get('password') ?? '') };
    if (kind === 'signup') body.name = String(data.get('name') ?? '').trim();
    if (!body.email || !body.password || (kind === 'signup' && !body.name)) return say(message, 'Please fill in every field.');
    if (kind === 'signup' && body.password!.length < 8) return say(message, 'The password needs at least 8 characters.');
    say(message, null);
    const button = form.querySelector('button[type=submit]') as HTMLButtonElement;
    button.disabled = true;
    const result = await api<{ user: User }>(`/api/auth/${kind}`, { method: 'POST', json: body });
    button.disabled = false;
    if (result.ok) {
      location.assign(next);
      return;
    }
    const details = Array.isArray(result.error.details)
      ? ' ' + (result.error.details as Array<{ field?: string; message?: string }>).map((d) => `${d.field ?? ''}: ${d.message ?? ''}`).join('; ')
      : '';
    say(message, WORDS[result.error.code] ?? `${result.error.message}${details}`);
  });
}
