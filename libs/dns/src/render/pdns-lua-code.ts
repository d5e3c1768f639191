/** The fixed Lua text of PowerDNS client map records, shared by the renderer and the check of what may be written (records.ts). */
// The map's lookup, in Lua, around the generated tables: `v4[L][n]` is the subnet index of the IPv4
// network n/L (longest prefix first, as Knot's geoip module), `v6` the IPv6 subnets in order,
// `reg[s]` subnet s's region index. A geo record passes the answer per region and, for a capacity
// split, per subnet index (these win). Only digits, quoted CIDRs and this fixed text are ever
// written: no value can inject code.
export const MAP_HEAD = ' = ';
export const MAP_BODY =
  " or (function() local nmgs = {} for _, e in ipairs(v6) do local g = newNMG() g:addMask(e[1]) nmgs[#nmgs + 1] = {g, e[2]} end" +
  ' return function(who, answers, fallback, subnets) local s' +
  " if who:isIPv4() then local n = 0 for o in who:toString():gmatch('[0-9]+') do n = n * 256 + tonumber(o) end" +
  ' for _, l in ipairs(lengths) do s = v4[l][math.floor(n / 2 ^ (32 - l))] if s then break end end' +
  ' else for _, e in ipairs(nmgs) do if e[1]:match(who) then s = e[2] break end end end' +
  " local x = s and ((subnets and subnets[s]) or answers[reg[s]]) if type(x) == 'table' then return x end return fallback end end)()";

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Exactly the LUA contents the renderers write: view() (renderPdnsLua), a client map record, a geo record over it. */
export const PDNS_LUA_CONTENT = [
  /^(A|AAAA) "view\(\{[{}'0-9a-f.:/, ]*\}\)"$/,
  new RegExp(`^TXT "local v4 = \\{[\\[\\]{}0-9=, ]*\\} local lengths = \\{[0-9, ]*\\} local v6 = \\{[{}'0-9a-f.:/, ]*\\} local reg = \\{[0-9, ]*\\} (SC_[0-9a-f]{8})${escape(MAP_HEAD)}\\1${escape(MAP_BODY)}"$`),
  /^(A|AAAA) ";if not (SC_[0-9a-f]{8}) then include\('shardcast-client-map'\) end return \2\(bestwho, \{[{}'0-9a-f.:, ]*\}, \{['0-9a-f.:, ]*\}(, \{[\[\]{}'0-9a-f.:=, ]*\})?\)"$/,
];
