# bash completion for slablog
_slablog() {
  local cur prev cmd i
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  local commands="write dump info verify truncate recover export split merge follow convert compress"
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in
      write|dump|info|verify|truncate|recover|export|split|merge|follow|convert|compress) cmd="${COMP_WORDS[i]}"; break ;;
    esac
  done
  if [[ -z "$cmd" ]]; then
    COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
    return
  fi
  case "$prev" in
    --format) [[ "$cmd" == export ]] && { COMPREPLY=($(compgen -W "json csv" -- "$cur")); return; } ;;&
    --fields) return ;;
    -f|--format) COMPREPLY=($(compgen -W "ndjson lines raw" -- "$cur")); return ;;
    --sync) COMPREPLY=($(compgen -W "close slab none" -- "$cur")); return ;;
    -i|--input) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --save-cut|--recycle) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    -o|--out) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --by) COMPREPLY=($(compgen -W "stream slab size time" -- "$cur")); return ;;
    --interval) return ;;
    --time-format) COMPREPLY=($(compgen -W "ns ns-string rfc3339 s" -- "$cur")); return ;;
    --time-unit) COMPREPLY=($(compgen -W "s ms us ns" -- "$cur")); return ;;
    -s|--stream|--stream-field|--time-field|--stream-type|--slab-size|--section-size|-t|--threads|--since|--until|-n|--limit|--copperlist-type|-l|--level) return ;;
  esac
  local opts
  case "$cmd" in
    write) opts="--help --input --format --stream --stream-field --time-field --time-unit --stream-type --slab-size --section-size --sync --sync-every --sync-every-bytes --append --ring --recycle" ;;
    dump) opts="--help --hex --sections --stream --no-verify --copperlist-type --time-format" ;;
    info) opts="--help --json --copperlist-type --time-format" ;;
    verify) opts="--help --json --threads --quiet --copperlist-type" ;;
    truncate) opts="--help --dry-run --save-cut" ;;
    recover) opts="--help --slab-size --section-size --copperlist-type" ;;
    export) opts="--help --stream --since --until --limit --array --sections --records --copperlist-type --format --fields --output --force --compression --time-format" ;;
    split) opts="--help --out --by --since --until --force --slab-size --section-size --compress --level" ;;
    merge) opts="--help --force --slab-size --section-size" ;;
    follow) opts="--help --from-start --stream --interval --copperlist-type --time-format" ;;
    convert) opts="--help --slab-size --section-size --copperlist-type" ;;
    compress) opts="--help --level --slab-size --section-size" ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _slablog slablog
