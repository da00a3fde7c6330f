// A small product inventory and the search the example's tool runs (shared by
// the Node script and the page).
export const INVENTORY = [
  { sku: 'LMP-01', name: 'Desk lamp', price: 39, stock: 12 },
  { sku: 'CHR-02', name: 'Office chair', price: 189, stock: 3 },
  { sku: 'NTB-05', name: 'Notebook (5 pack)', price: 12, stock: 40 },
  { sku: 'MUG-01', name: 'Coffee mug', price: 9, stock: 25 },
  { sku: 'MON-27', name: '27-inch monitor', price: 249, stock: 5 },
  { sku: 'KBD-01', name: 'Mechanical keyboard', price: 79, stock: 8 },
];

/** Products matching the query: "under $N" filters by price, other words by name. */
export function searchInventory(query) {
  const under = /under \$?(\d+)/i.exec(query);
  if (under) return INVENTORY.filter((p) => p.price < Number(under[1]));
  const words = query.toLowerCase().split(/\W+/).filter(Boolean);
  const hits = INVENTORY.filter((p) => words.some((w) => p.name.toLowerCase().includes(w)));
  return hits.length > 0 ? hits : INVENTORY;
}
