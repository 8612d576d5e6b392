export interface SessionUser {
  id: string;
  role: 'customer' | 'admin';
}
