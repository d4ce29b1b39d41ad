/**
 * How Calico 3 (`projectcalico.org/v3`) spells a kind's table: which rows its `metadata` and
 * its `spec` hold, in the v3 API struct's declaration order (the order `get -o json --api v3`
 * prints keys in), under which name. A kind whose v3 form has the v1 fields in their v1 places
 * needs no layout (node, network set). The v3 decoder and printer (model/v3/) read a kind's
 * fields from here and the row; value spellings (`Allow`, `TCP`) are their codecs. Pure data.
 */
import type { Field, FieldTable } from "./table.ts";

/** A row's key, or `[v3 name, row key]` where v3 names the field otherwise. */
export type V3Name = string | readonly [v3Name: string, key: string];

/** The v3 fields of `metadata` and of `spec`, each in the v3 struct's order. */
export type V3Layout = Readonly<Record<"metadata" | "spec", readonly V3Name[]>>;

/** A v3 field: the kind's row (its key and part in the model), and as v3 names it. */
export type V3Slot = { readonly row: Field; readonly field: Field };

/** A kind's v3 fields by part; `missing`: the rows v3 has no field for (a profile's tags). */
export type V3Slots = Readonly<Record<"metadata" | "spec", readonly V3Slot[]>> & {
  readonly missing: FieldTable;
};

/**
 * The v3 slots of a table, by its layout, or as v1 places them where there is none. A slot's
 * `field` is its row, or a copy of the row whose `key` is the v3 name.
 */
export function v3Slots(table: FieldTable, layout?: V3Layout): V3Slots {
  const rows = table.filter((f) => f.v3 !== false);
  const place = (meta: boolean): V3Name[] =>
    rows.filter((f) => !!f.meta === meta).map((f) => f.key);
  const slots = (names: readonly V3Name[]) =>
    names.map((n): V3Slot => {
      const [name, key] = typeof n === "string" ? [n, n] : n;
      const row = rows.find((f) => f.key === key);
      if (!row) throw new Error(`v3 layout names ${key}, which the table does not have`);
      return { row, field: name === key ? row : { ...row, key: name } };
    });
  const metadata = slots(layout?.metadata ?? place(true));
  const spec = slots(layout?.spec ?? place(false));
  const listed = new Set([...metadata, ...spec].map((s) => s.row));
  return { metadata, spec, missing: table.filter((f) => !listed.has(f)) };
}
