-- A new password ends every session of the account, whatever wrote it (a reset, an admin, a
-- script): the sessions' rows go, and each Worker isolate learns so within its check's minute.
CREATE OR REPLACE FUNCTION end_sessions_on_password_change() RETURNS trigger AS $$
BEGIN
  DELETE FROM sessions WHERE user_id = NEW.id;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER users_password_change_ends_sessions
  AFTER UPDATE OF password_hash ON users
  FOR EACH ROW
  WHEN (OLD.password_hash IS DISTINCT FROM NEW.password_hash)
  EXECUTE FUNCTION end_sessions_on_password_change();
