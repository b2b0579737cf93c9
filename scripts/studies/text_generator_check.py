"""How learnable are the generated fault reports? TF-IDF + logistic regression, 5-fold stratified CV.

python scripts/studies/text_generator_check.py [--per-class 500] [--seeds 0 1 2]
"""

import argparse

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from mmfusion.data.text.generate import generate_reports

CLASSES = ["electronic_failure", "leak", "mechanical_failure", "software_failure"]

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-class", type=int, default=500)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = p.parse_args()
    print("| ambiguous_share | " + " | ".join(f"seed {s}" for s in args.seeds) + " |")
    print("|---|" + "---|" * len(args.seeds))
    for share in (0.0, 0.1, 0.2):
        accs = []
        for seed in args.seeds:
            data = generate_reports(CLASSES, args.per_class, seed, ambiguous_share=share)
            model = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=2000))
            cv = StratifiedKFold(5, shuffle=True, random_state=seed)
            accs.append(cross_val_score(model, list(data.texts), data.y, cv=cv).mean())
        print(f"| {share} | " + " | ".join(f"{a:.3f}" for a in accs) + " |")
