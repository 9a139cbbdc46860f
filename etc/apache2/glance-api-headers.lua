-- Request fix-ups of glance-api under Apache + mod_wsgi (glance-api.conf).

-- Apache 2.4 drops every request header whose name contains "_" before
-- an application sees it. glance-api's own server keeps those of the v1
-- API (x-image-meta-*, x-glance-*), where "_" and "-" mean the same, and
-- hands them over as HTTP_X_IMAGE_META_DISK_FORMAT and the like. Spelling
-- "_" as "-" here gives mod_wsgi exactly those names; other headers with
-- "_" (X_Roles...) are left for Apache to drop, so they cannot pass for
-- identity headers.

local PREFIXES = {'x-image-meta-', 'x-glance-'}

local function ours(name)
    local lower = name:lower()
    for _, prefix in ipairs(PREFIXES) do
        if lower:sub(1, #prefix) == prefix then
            return true
        end
    end
    return false
end

local function underscore_headers(r)
    local found = {}
    for name, value in pairs(r:headers_in_table()) do
        if name:find('_', 1, true) and ours(name) then
            found[#found + 1] = {name, value}
        end
    end
    for _, header in ipairs(found) do
        local name, value = header[1], header[2]
        local dashed = (name:gsub('_', '-'))
        r.headers_in[name] = nil
        -- Both spellings in one request: joined, as glance-api's server
        -- joins repeated headers.
        local other = r.headers_in[dashed]
        if other then
            value = other .. ',' .. value
        end
        r.headers_in[dashed] = value
    end
end

-- mod_wsgi hands a request to its daemon only once it has read the whole
-- body, so glance-api cannot refuse an upload declared over
-- image_size_cap before the client sent it all: a client that waits for
-- the answer got Apache's 408 instead. Refused here, from the headers,
-- with glance-api's answer; the connection closes, the body unread.
local function over_size_cap(r)
    local cap = tonumber(r.subprocess_env['GLANCE_IMAGE_SIZE_CAP'] or '')
    if not cap or (r.method ~= 'POST' and r.method ~= 'PUT') then
        return false
    end
    for _, name in ipairs({'Content-Length', 'x-image-meta-size'}) do
        local size = tonumber(r.headers_in[name] or '')
        if size and size > cap then
            r.status = 400
            r.content_type = 'text/plain; charset=UTF-8'
            r.headers_out['Connection'] = 'close'
            r:puts(string.format('400 Bad Request\n\nDenying attempt to '
                                 .. 'upload image larger than %d bytes.\n',
                                 cap))
            return true
        end
    end
    return false
end

function fixups(r)
    underscore_headers(r)
    if over_size_cap(r) then
        return apache2.DONE
    end
    return apache2.DECLINED
end
