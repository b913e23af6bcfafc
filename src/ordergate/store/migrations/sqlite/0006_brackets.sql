-- Brackets (seed 004): the entry keeps its SL/TP offsets; children point at their parent.
ALTER TABLE orders ADD COLUMN sl_offset_pct TEXT;
ALTER TABLE orders ADD COLUMN tp_offset_pct TEXT;
CREATE INDEX orders_parent ON orders (parent_order_id) WHERE parent_order_id IS NOT NULL;
