DROP INDEX "bookings_refund_pending_idx";--> statement-breakpoint
CREATE INDEX "bookings_refund_pending_idx" ON "bookings" USING btree ("event_id","id") WHERE "bookings"."refund_pending_cents" > 0;