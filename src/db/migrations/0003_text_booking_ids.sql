-- Booking ids become text (they name their event). The foreign key is dropped for the change
-- and restored, since Postgres cannot check it while the two columns differ in type.
ALTER TABLE "booking_tickets" DROP CONSTRAINT "booking_tickets_booking_id_bookings_id_fk";--> statement-breakpoint
ALTER TABLE "booking_tickets" ALTER COLUMN "booking_id" SET DATA TYPE text;--> statement-breakpoint
ALTER TABLE "bookings" ALTER COLUMN "id" SET DATA TYPE text;--> statement-breakpoint
ALTER TABLE "tickets" ALTER COLUMN "booking_id" SET DATA TYPE text;--> statement-breakpoint
ALTER TABLE "booking_tickets" ADD CONSTRAINT "booking_tickets_booking_id_bookings_id_fk" FOREIGN KEY ("booking_id") REFERENCES "public"."bookings"("id") ON DELETE no action ON UPDATE no action;
