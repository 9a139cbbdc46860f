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

function underscore_headers(r)
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
    return apache2.DECLINED
end
