ALTER TABLE "venues" ADD COLUMN "latitude" double precision;--> statement-breakpoint
ALTER TABLE "venues" ADD COLUMN "longitude" double precision;--> statement-breakpoint
-- An event's search document (src/db/search.ts): names (A), venue and city (B), genre and the
-- first 1000 characters of the description (C). It stays within 2000 bytes, so the walk index
-- below can carry it (a btree entry ends at 2704): a bigger one keeps its names and place, or
-- at worst shortened names and the city.
CREATE OR REPLACE FUNCTION event_search_document(event_name text, description text, performer_name text, genre text, venue_name text, city text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  select case when pg_column_size(d.whole) <= 2000 then d.whole
              when pg_column_size(d.head) <= 2000 then d.head
              else d.short end
  from (
    select h.head || setweight(to_tsvector('english', coalesce(genre, '') || ' ' || left(coalesce(description, ''), 1000)), 'C') as whole,
           h.head, h.short
    from (
      select setweight(to_tsvector('english', event_name), 'A') || setweight(to_tsvector('english', performer_name), 'A')
             || setweight(to_tsvector('english', venue_name || ' ' || city), 'B') as head,
             setweight(to_tsvector('english', left(event_name, 100) || ' ' || left(performer_name, 100)), 'A')
             || setweight(to_tsvector('english', left(city, 100)), 'B') as short
    ) h
  ) d
$$;--> statement-breakpoint
UPDATE "events" e SET "search_vector" = event_search_document(e.name, e.description, p.name, p.genre, v.name, v.city)
FROM "performers" p, "venues" v
WHERE p.id = e.performer_id AND v.id = e.venue_id
  AND e.search_vector IS DISTINCT FROM event_search_document(e.name, e.description, p.name, p.genre, v.name, v.city);--> statement-breakpoint
CREATE INDEX "events_search_names_idx" ON "events" USING gin (ts_filter("search_vector", '{a}'::"char"[]));--> statement-breakpoint
CREATE INDEX "events_search_place_idx" ON "events" USING gin (ts_filter("search_vector", '{a,b}'::"char"[]));--> statement-breakpoint
-- INCLUDE is this migration's own (drizzle's index builder has no INCLUDE): a walk along the
-- published events in date order reads the document and the filtered columns from the index.
CREATE INDEX "events_search_walk_idx" ON "events" USING btree ("starts_at","id") INCLUDE ("search_vector", "venue_id", "performer_id", "on_sale_at") WHERE "events"."status" = 'published';--> statement-breakpoint
CREATE INDEX "events_search_name_idx" ON "events" USING btree (lower("name"),"id") WHERE "events"."status" = 'published';--> statement-breakpoint
CREATE INDEX "tickets_available_idx" ON "tickets" USING btree ("event_id") WHERE "tickets"."status" = 'available';--> statement-breakpoint
CREATE INDEX "venues_location_idx" ON "venues" USING btree ("latitude","longitude");--> statement-breakpoint
ALTER TABLE "venues" ADD CONSTRAINT "venues_location_check" CHECK (("venues"."latitude" is null) = ("venues"."longitude" is null) and ("venues"."latitude" is null or ("venues"."latitude" between -90 and 90 and "venues"."longitude" between -180 and 180)));
