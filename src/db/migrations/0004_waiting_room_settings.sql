ALTER TABLE "events" ADD COLUMN "queue_token_minutes" integer DEFAULT 10 NOT NULL;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "queue_lobby_minutes" integer DEFAULT 30 NOT NULL;