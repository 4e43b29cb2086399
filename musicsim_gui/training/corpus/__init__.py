"""The synthetic multi-stem LoFi corpus: songs composed from a seed, rendered per instrument, with exact stems.

Every song comes with ground-truth stems (bass, drums, piano, other) that sum to its mix, its MIDI and
its metadata, so separation and per-instrument generation can train and be evaluated without any
downloaded data.

Architecture:
1. `composer.compose(seed)` draws tempo (65..95 BPM), swing, key and mode, two four-bar progressions from
   idiomatic LoFi/jazz templates (`theory`), a form (intro, A/B, outro; 60..150 s) and the four parts
   (`drums`, `bass`, `keys`, `other`, with `melody` shared). Pure function of the seed.
2. `synth.render_voices` renders each stem separately with FluidSynth and the FluidR3 GM SoundFont,
   offline, driven by our own event scheduler.
3. `lofi.apply_chain` applies per-stem saturation, then one shared linear chain (wow/flutter, low-pass,
   high-pass) and puts vinyl crackle/hiss in "other"; the mix is defined as the sum of the final stems.
4. `render.make_song` writes `DIR/<split>/<song_id>/{mix,bass,drums,piano,other}.flac`, `song.mid`,
   `meta.json` (written last); `driver.make_corpus` runs songs in worker processes and resumes.
5. `stats` measures variety and per-stem loudness, spectral centroid and onset rate.

Splits are fixed seed ranges (`layout.SPLITS`): test = seeds 0..9,999, valid = 10,000..19,999,
train = 20,000 and up; a corpus with N songs of a split holds that split's first N seeds.
"""
