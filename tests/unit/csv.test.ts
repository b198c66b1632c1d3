/** RFC 4180 fields and records (src/api/csv.ts): what needs quotes gets them, quotes are doubled, CRLF ends a record. */
import { describe, expect, it } from "vitest";
import { csvField, csvRecord } from "../../src/api/csv.js";

describe("csv", () => {
  it("writes plain values as they are and nulls as empty fields", () => {
    expect(csvRecord(["a", 1, 2.5, -3e-7, true, null, undefined, ""])).toBe("a,1,2.5,-3e-7,true,,,\r\n");
  });

  it("quotes a field with a comma, a quote, a CR or LF, or edge spaces, doubling its quotes", () => {
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField("cr\rhere")).toBe('"cr\rhere"');
    expect(csvField(" padded")).toBe('" padded"');
    expect(csvField("inner space")).toBe("inner space");
  });

  it("writes objects and arrays as JSON (quoted, since JSON has commas and quotes)", () => {
    expect(csvField([{ attention: "full" }, { attention: "local" }])).toBe('"[{""attention"":""full""},{""attention"":""local""}]"');
    expect(csvField({ a: 1 })).toBe('"{""a"":1}"');
  });
});
