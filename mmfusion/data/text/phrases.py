"""The phrase banks of the fault-report generator (data/text/generate.py): equipment, symptoms,
actions, clauses and sentence templates per category. All written for this project; none of it is
taken from any data set."""

# fmt: off
# (phrase banks: one category a line reads better than one phrase a line)

CATEGORIES = ("electronic", "leak", "mechanical", "software")

# equipment per category; a regular report uses its own category's equipment or a generic one
EQUIPMENT = {
    "electronic": ["control board", "power supply", "relay", "circuit breaker", "fuse box", "motor drive",
                   "wiring harness", "sensor cable", "display panel", "transformer", "contactor",
                   "input card", "encoder", "junction box", "indicator lamp", "frequency inverter"],
    "leak": ["valve", "pipe joint", "pump seal", "hose", "gasket", "flange", "coolant line", "storage tank",
             "hydraulic cylinder", "drain pipe", "fitting", "heat exchanger", "filter housing",
             "feed line", "sight glass", "return line"],
    "mechanical": ["conveyor belt", "bearing", "gearbox", "drive shaft", "roller", "pulley", "drive chain",
                   "fan blade", "coupling", "mixer paddle", "press arm", "spring", "sprocket",
                   "guide rail", "cam follower", "lifting hook"],
    "software": ["operator terminal", "control software", "batch scheduler", "plc program", "database",
                 "firmware", "user interface", "recipe manager", "reporting tool", "label printer app",
                 "historian", "alarm server", "login screen", "trend viewer", "barcode app", "mes client"],
}
GENERIC_EQUIPMENT = ["machine", "unit", "station", "filler", "mixer", "packing machine", "pump", "compressor",
                     "robot cell", "press", "extruder", "dosing unit", "capper", "palletizer", "oven"]

# symptoms: verb phrases ("the X ...") and noun phrases ("... at the X")
SYMPTOM_VP = {
    "electronic": ["has no power", "keeps tripping the breaker", "shows a short circuit", "blew a fuse",
                   "lost its supply voltage", "is sparking", "has a loose wire", "flickers on and off",
                   "has corroded contacts", "shows a ground fault", "burnt out", "gives a voltage drop",
                   "reads zero amps", "has a melted terminal"],
    "leak": ["is dripping", "is leaking oil", "is seeping coolant", "sprays water", "loses pressure slowly",
             "leaves a puddle underneath", "is weeping fluid", "is hissing gas", "drips steadily",
             "has a wet patch around it", "is losing hydraulic fluid", "leaks at the seam",
             "let steam escape", "has fluid running down the side"],
    "mechanical": ["is cracked", "is worn down", "is misaligned", "has seized", "is grinding",
                   "vibrates badly", "snapped", "is bent", "has loose bolts", "keeps slipping",
                   "wobbles", "has broken teeth", "is jammed with debris", "lost its tension"],
    "software": ["crashed", "froze", "shows an error code", "displays wrong values", "does not save changes",
                 "rejects the login", "failed to update", "keeps rebooting", "times out",
                 "stopped syncing data", "shows a blank screen", "lost the recipe settings",
                 "hangs on startup", "logs duplicate entries"],
}
SYMPTOM_NP = {
    "electronic": ["short circuit", "blown fuse", "tripped breaker", "voltage drop", "loose connector",
                   "burnt wiring", "power outage", "ground fault", "bad solder joint", "dead sensor signal"],
    "leak": ["oil leak", "coolant leak", "water puddle", "steam leak", "pressure loss", "drip",
             "fluid stain", "gas leak", "wet floor", "dripping seal"],
    "mechanical": ["worn bearing", "broken belt", "cracked housing", "bent shaft", "loose bolt",
                   "misalignment", "heavy vibration", "snapped chain", "grinding gears", "seized roller"],
    "software": ["error message", "system crash", "frozen screen", "sync failure", "login failure",
                 "failed update", "corrupt file", "timeout error", "wrong readings on screen",
                 "reboot loop"],
}
ACTIONS = {
    "electronic": ["Replaced the fuse.", "Reseated the connector.", "Called the electrician.",
                   "Swapped the relay.", "Measured the voltage.", "Isolated the circuit."],
    "leak": ["Tightened the fitting.", "Put a tray under it.", "Replaced the gasket.", "Closed the valve.",
             "Mopped the floor.", "Ordered a new seal."],
    "mechanical": ["Greased the bearing.", "Realigned it.", "Tightened the bolts.", "Ordered a new belt.",
                   "Adjusted the tension.", "Cleared the debris."],
    "software": ["Restarted the application.", "Reinstalled the update.", "Cleared the cache.",
                 "Reset the password.", "Rolled back the version.", "Informed IT."],
}
AMBIGUOUS_VP = ["is overheating", "makes a strange noise", "keeps stopping", "smells like something burning",
                "is stuck", "triggered an alarm", "shut down without warning", "runs slower than usual",
                "stopped working", "behaves erratically", "is not responding", "stops now and then",
                "got very hot", "makes a clicking sound", "will not start"]
AMBIGUOUS_NP = ["burning smell", "odd noise", "alarm", "intermittent stop", "overheating", "sudden shutdown",
                "unexpected stop", "clicking sound", "slow cycle", "strange behaviour"]
REMARKS = ["Please check asap.", "Production slowed down.", "Needs attention before next shift.",
           "Happened twice today.", "Not urgent.", "Line is down.", "Supervisor informed.",
           "Second time this week.", "Output reduced.", "Tagged out for now."]
LOCATIONS = ["on line 1", "on line 2", "on line 3", "in hall B", "in building 4", "near the loading dock",
             "in the packaging area", "at station 7", "in the basement", "on the mezzanine"]
TIMES = ["This morning", "During the night shift", "After the restart", "Around noon", "Since yesterday",
         "At shift change", "During cleaning", "Earlier today"]
REPORTERS = ["Operator", "Technician", "Night shift", "Maintenance", "Shift lead", "Quality team"]

# {eq}: equipment, {vp}/{np}: symptom, {loc}/{time}/{who}: optional clauses (may be empty)
TEMPLATES_VP = [
    "{time}the {eq}{loc} {vp}.",
    "The {eq} {vp}{loc}.",
    "{who}reports that the {eq}{loc} {vp}.",
    "Noticed the {eq} {vp}{loc}.",
    "{eq} {vp}",
    "{time}the {eq} {vp} again.",
    "Looks like the {eq}{loc} {vp}.",
    "Checked the {eq}{loc}: it {vp}.",
]
TEMPLATES_NP = [
    "{np} at the {eq}{loc}.",
    "{time}{np} on the {eq}.",
    "{who}found {np} near the {eq}{loc}.",
    "{eq}{loc}: {np}.",
    "Possible {np} at the {eq}.",
    "{np} reported on the {eq}{loc}, {time_lc}",
    "Suspect {np} in the {eq}.",
]
