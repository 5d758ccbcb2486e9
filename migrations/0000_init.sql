CREATE TABLE `changes` (
	`rv` integer PRIMARY KEY NOT NULL,
	`resource` text NOT NULL,
	`namespace` text NOT NULL,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`body` text NOT NULL,
	`prev_body` text,
	`ts` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `objects` (
	`resource` text NOT NULL,
	`namespace` text NOT NULL,
	`name` text NOT NULL,
	`uid` text NOT NULL,
	`rv` integer NOT NULL,
	`body` text NOT NULL,
	`expires_at` integer,
	PRIMARY KEY(`resource`, `namespace`, `name`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `objects_expires` ON `objects` (`expires_at`) WHERE expires_at IS NOT NULL;--> statement-breakpoint
CREATE TABLE `owners` (
	`owner_uid` text NOT NULL,
	`resource` text NOT NULL,
	`namespace` text NOT NULL,
	`name` text NOT NULL,
	PRIMARY KEY(`owner_uid`, `resource`, `namespace`, `name`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `owners_dependent` ON `owners` (`resource`,`namespace`,`name`);