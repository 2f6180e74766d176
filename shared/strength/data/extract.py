"""Writes zxcvbn's frequency lists (MIT, Dropbox; as the zxcvbn crate ships them) as one
word per line, most frequent first: the line number is the word's rank.

    python3 shared/strength/data/extract.py ~/.cargo/registry/src/*/zxcvbn-3.1.1/src/frequency_lists.rs
"""

import pathlib
import re
import sys

NAMES = {
    "PASSWORDS": "passwords",
    "ENGLISH_WIKI": "english_wikipedia",
    "FEMALE_NAMES": "female_names",
    "MALE_NAMES": "male_names",
    "SURNAMES": "surnames",
    "US_TV_AND_FILM": "us_tv_and_film",
}

source = pathlib.Path(sys.argv[1]).read_text(encoding="utf-8")
here = pathlib.Path(__file__).parent
for constant, file in NAMES.items():
    found = re.search(rf'const {constant}: &str = "([^"]*)";', source)
    if not found:
        sys.exit(f"{constant} not found")
    words = found.group(1).split(",")
    (here / f"{file}.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    print(f"{file}: {len(words)} words")
