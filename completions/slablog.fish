# fish completion for slablog
set -l commands write dump info verify truncate recover export split merge follow convert
complete -c slablog -f
complete -c slablog -n "not __fish_seen_subcommand_from $commands" -l help -d 'Show help'
complete -c slablog -n "not __fish_seen_subcommand_from $commands" -l version -d 'Show the version'
complete -c slablog -n "not __fish_seen_subcommand_from $commands" -a write -d 'Append records from standard input to a log'
complete -c slablog -n "not __fish_seen_subcommand_from $commands" -a dump -d 'List every slab, section and frame'
complete -c slablog -n "not __fish_seen_subcommand_from $commands" -a info -d 'Summarise a log'
complete -c slablog -n "not __fish_seen_subcommand_from $commands" -a verify -d 'Check every header, CRC and the structure'
complete -c slablog -n "not __fish_seen_subcommand_from $commands" -a truncate -d 'Repair a log whose writer died'
complete -c slablog -n "not __fish_seen_subcommand_from $commands" -a recover -d 'Copy every intact record into a new log'
complete -c slablog -n "not __fish_seen_subcommand_from $commands" -a export -d 'Print records or sections as NDJSON'
complete -c slablog -n "not __fish_seen_subcommand_from $commands" -a split -d 'Cut a log into new, independent logs'
complete -c slablog -n "not __fish_seen_subcommand_from $commands" -a merge -d 'Join logs into one, records in timestamp order'
complete -c slablog -n "not __fish_seen_subcommand_from $commands" -a follow -d 'Print records while a writer appends them'
complete -c slablog -n "not __fish_seen_subcommand_from $commands" -a convert -d 'Write a Copper log as a new slablog log'

complete -c slablog -n "__fish_seen_subcommand_from $commands" -F
complete -c slablog -n "__fish_seen_subcommand_from $commands" -l help -d 'Show help'

complete -c slablog -n "__fish_seen_subcommand_from write" -s i -l input -r -F -d 'Read records from this file'
complete -c slablog -n "__fish_seen_subcommand_from write" -s f -l format -x -a 'ndjson lines raw' -d 'Input format'
complete -c slablog -n "__fish_seen_subcommand_from write" -s s -l stream -x -d 'Stream for records'
complete -c slablog -n "__fish_seen_subcommand_from write" -l stream-field -x -d 'Route records by this field'
complete -c slablog -n "__fish_seen_subcommand_from write" -l time-field -x -d 'Timestamp field (integer ns)'
complete -c slablog -n "__fish_seen_subcommand_from write" -l stream-type -x -d 'Type number of new streams'
complete -c slablog -n "__fish_seen_subcommand_from write" -l slab-size -x -d 'Bytes per slab'
complete -c slablog -n "__fish_seen_subcommand_from write" -l section-size -x -d 'Bytes per section'
complete -c slablog -n "__fish_seen_subcommand_from write" -l sync -x -a 'close slab none' -d 'Durability policy'
complete -c slablog -n "__fish_seen_subcommand_from write" -l sync-every -x -d 'Also sync every duration'
complete -c slablog -n "__fish_seen_subcommand_from write" -l sync-every-bytes -x -d 'Also sync after this many bytes'
complete -c slablog -n "__fish_seen_subcommand_from write" -s a -l append -d 'Add to an existing log'
complete -c slablog -n "__fish_seen_subcommand_from write" -l ring -x -d 'Flight recorder: keep at most this size'
complete -c slablog -n "__fish_seen_subcommand_from write" -l recycle -r -d 'Take the slab files of this retired log'

complete -c slablog -n "__fish_seen_subcommand_from dump" -s x -l hex -d 'Hexdump payloads'
complete -c slablog -n "__fish_seen_subcommand_from dump" -l sections -d 'Slabs and sections only'
complete -c slablog -n "__fish_seen_subcommand_from dump" -s s -l stream -x -d 'Only this stream'
complete -c slablog -n "__fish_seen_subcommand_from dump" -l no-verify -d 'Do not check CRCs'

complete -c slablog -n "__fish_seen_subcommand_from info" -s j -l json -d 'Print JSON'

complete -c slablog -n "__fish_seen_subcommand_from verify" -s j -l json -d 'Print a JSON report'
complete -c slablog -n "__fish_seen_subcommand_from verify" -s t -l threads -x -d 'Threads to use'
complete -c slablog -n "__fish_seen_subcommand_from verify" -s q -l quiet -d 'Print nothing'

complete -c slablog -n "__fish_seen_subcommand_from truncate" -s n -l dry-run -d 'Print what would be cut; write nothing'
complete -c slablog -n "__fish_seen_subcommand_from truncate" -l save-cut -r -F -d 'Keep the cut bytes in this file'

complete -c slablog -n "__fish_seen_subcommand_from recover" -l slab-size -x -d 'Bytes per slab of the new log'
complete -c slablog -n "__fish_seen_subcommand_from recover" -l section-size -x -d 'Bytes per section of the new log'

complete -c slablog -n "__fish_seen_subcommand_from export" -s s -l stream -x -d 'Only streams matching this glob'
complete -c slablog -n "__fish_seen_subcommand_from export" -l since -x -d 'Only records at or after this time'
complete -c slablog -n "__fish_seen_subcommand_from export" -l until -x -d 'Only records at or before this time'
complete -c slablog -n "__fish_seen_subcommand_from export" -s n -l limit -x -d 'Stop after this many objects'
complete -c slablog -n "__fish_seen_subcommand_from export" -l array -d 'Print one JSON array'
complete -c slablog -n "__fish_seen_subcommand_from export" -l sections -d 'One object per section'
complete -c slablog -n "__fish_seen_subcommand_from export" -l records -d 'With --sections, include the records'

complete -c slablog -n "__fish_seen_subcommand_from split" -s o -l out -x -a '(__fish_complete_directories)' -d 'Directory for the pieces'
complete -c slablog -n "__fish_seen_subcommand_from split" -l by -x -a 'stream slab size time' -d 'How to cut'
complete -c slablog -n "__fish_seen_subcommand_from split" -l since -x -d 'Only records at or after this time (or -DURATION)'
complete -c slablog -n "__fish_seen_subcommand_from split" -l until -x -d 'Only records at or before this time'
complete -c slablog -n "__fish_seen_subcommand_from split" -s f -l force -d 'Replace pieces that exist'
complete -c slablog -n "__fish_seen_subcommand_from split" -l slab-size -x -d 'Bytes per slab of each piece'
complete -c slablog -n "__fish_seen_subcommand_from split" -l section-size -x -d 'Bytes per section of each piece'

complete -c slablog -n "__fish_seen_subcommand_from merge" -s f -l force -d 'Replace OUT if it exists'
complete -c slablog -n "__fish_seen_subcommand_from merge" -l slab-size -x -d 'Bytes per slab of the merged log'
complete -c slablog -n "__fish_seen_subcommand_from merge" -l section-size -x -d 'Bytes per section of the merged log'

complete -c slablog -n "__fish_seen_subcommand_from follow" -l from-start -d 'Print the records already in the log first'
complete -c slablog -n "__fish_seen_subcommand_from follow" -s s -l stream -x -d 'Only streams matching this glob'
complete -c slablog -n "__fish_seen_subcommand_from follow" -l interval -x -d 'Longest wait between looks, in ms'
complete -c slablog -n "__fish_seen_subcommand_from convert" -l slab-size -x -d 'Bytes per slab of the new log'
complete -c slablog -n "__fish_seen_subcommand_from convert" -l section-size -x -d 'Bytes per section of the new log'
complete -c slablog -n "__fish_seen_subcommand_from dump info verify recover export follow convert" -l copperlist-type -x -d 'Copper logs: the copperlists Rust type'
