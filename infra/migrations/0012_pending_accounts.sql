-- Self-registered accounts start `pending`: no sign-in (so no data) until the address is verified and an
-- admin approves them (PATCH /admin/users/{id} {"status": "active"}).
ALTER TABLE users DROP CONSTRAINT users_status_check;
ALTER TABLE users ADD CONSTRAINT users_status_check CHECK (status IN ('pending', 'active', 'deactivated'));
