"""The offline model's vocabulary for telecom customer comments, in French and English.

Phrases use the pattern syntax of :class:`llmops.llm.text.PhraseLexicon` on folded text (no accents,
contractions expanded: "n'est pas" is written "ne est pas", "don't" is "do not"). Weights are the strength
of a cue: about 1 for an ordinary word ("good", "déçu"), 1.5-2 for strong ones ("scandaleux", "worst"),
below 1 for words that are often just politeness or context ("merci", "problème").
"""

from __future__ import annotations

# --- sentiment -----------------------------------------------------------------------------------------

#: Praise, satisfaction and resolution, in English.
POSITIVE_EN: dict[str, float] = {
    "good": 1.0, "great": 1.2, "excellent": 1.6, "perfect*": 1.5, "amazing": 1.6, "awesome": 1.5,
    "fantastic": 1.6, "wonderful": 1.5, "brilliant": 1.4, "superb": 1.5, "outstanding": 1.6, "love": 1.3,
    "loved": 1.3, "lovely": 1.2, "happy": 1.2, "glad": 1.0, "satisfied": 1.2, "pleased": 1.2, "delighted": 1.5,
    "helpful": 1.2, "friendly": 1.1, "very kind": 1.1, "so kind": 1.1, "polite": 0.9, "courteous": 1.0,
    "patient": 0.8, "professional": 1.0, "efficient": 1.1, "quick": 0.6, "quickly": 0.6, "fast": 0.7,
    "reliable": 1.1, "stable": 0.7, "solid": 0.9, "smooth*": 0.9, "seamless*": 1.1, "resolved": 1.0,
    "fixed": 1.0, "solved": 1.0, "sorted": 0.8, "recommend": 1.2, "recommended": 1.1, "best": 1.1, "nice": 1.0,
    "impressed": 1.3, "impressive": 1.3, "appreciate*": 1.0, "thank": 0.5, "thanks": 0.5, "thank you so much": 1.2,
    "thanks a lot": 1.0, "many thanks": 0.9, "grateful": 1.1, "well done": 1.2, "easy": 0.7, "easier": 0.6,
    "improved": 0.8, "improvement": 0.6, "better": 0.5, "works perfectly": 1.6, "works fine": 1.0,
    "works well": 1.1, "works great": 1.4, "worked like": 0.9, "everything worked": 1.3, "no complaints": 1.2,
    "no issues": 1.0, "no problems": 1.0, "nothing to complain": 1.2, "top notch": 1.5, "flawless*": 1.5,
    "fair": 0.6, "honest": 0.7, "fine": 0.5, "ok": 0.4, "okay": 0.4, "decent": 0.7,
    "went above and beyond": 1.8, "could not be happier": 1.8, "could not be more": 1.2, "above and beyond": 1.6, "lifesaver": 1.4, "kudos": 1.2, "pleasant": 1.0,
    "competent": 1.0, "responsive": 1.0, "worth it": 1.2, "worth every": 1.5, "good value": 1.2,
    "great value": 1.4, "great price": 1.3, "good price": 1.1, "love it": 1.5, "thrilled": 1.5, "enjoy*": 1.0,
    "like it": 0.8, "keep it up": 1.2, "good job": 1.4, "great job": 1.6, "spot on": 1.2, "makes a difference": 1.0,
    "makes a real difference": 1.3, "real difference": 1.0, "gone": 0.5, "back to normal": 1.0, "works again": 1.0,
    "working again": 1.0, "no extra charges": 1.0, "no extra charge": 1.0, "genuinely": 0.4, "stay with": 0.6,
    "stayed with": 0.8, "why i have stayed": 1.2, "cheapest": 0.8, "generous": 1.1, "thank you for": 0.9,
    "thanks for the": 0.9, "thanks for fixing": 1.3, "thank you to": 1.0, "thanks to the": 0.9, "5 stars": 1.4,
    "five stars": 1.4, "10 10": 1.4, "5 5": 1.3, "finally works": 0.6, "finally fixed": 0.6, "credit arrived": 0.8,
    "all good": 1.1, "fair enough": 0.6, "not bad at all": 1.1, "sorted out": 0.9, "cheers": 0.5,
    "impeccable": 1.5, "super": 1.0, "thanks for": 0.9, "thanks to your": 0.9, "happy to stay": 1.3,
    "glad to stay": 1.2, "how it should be done": 1.3, "as it should be": 1.0, "well handled": 1.2,
}
#: Complaints, anger, disappointment and reported problems, in English.
NEGATIVE_EN: dict[str, float] = {
    "bad": 1.0, "terrible": 1.6, "horrible": 1.6, "awful": 1.6, "worst": 1.8, "poor": 1.0, "poorly": 1.0,
    "useless": 1.5, "disappoint*": 1.2, "frustrat*": 1.2, "angry": 1.4, "furious": 1.7, "annoy*": 1.1,
    "unacceptable": 1.6, "ridiculous": 1.4, "scandal*": 1.5, "rip off": 1.6, "ripoff": 1.6, "rip-off": 1.6,
    "scam*": 1.6, "slow": 0.8, "outage*": 1.0, "broken": 1.0, "fail*": 0.8, "error*": 0.7, "wrong": 0.8,
    "overcharg*": 1.3, "charged twice": 1.4, "double charged": 1.4, "double debit": 1.2, "dropped calls": 1.0,
    "drops": 0.6, "dropping": 0.8, "issue": 0.4, "issues": 0.4, "problem": 0.6, "problems": 0.6, "complain*": 0.6,
    "rude": 1.4, "incompetent*": 1.5, "unhelpful": 1.3, "nightmare": 1.6, "joke": 1.0, "pathetic": 1.6,
    "disgust*": 1.6, "fed up": 1.5, "sick of": 1.5, "tired of": 1.2, "hate": 1.5, "never again": 1.5,
    "mess": 1.0, "fiasco": 1.5, "maze": 1.0, "painful": 1.1, "expensive": 0.7, "too expensive": 1.1,
    "unreliable": 1.2, "unstable": 1.0, "cut off": 1.0, "not working": 1.1, "not work": 1.1, "does not work": 1.2,
    "stopped working": 1.2, "unusable": 1.5, "lousy": 1.4, "crap": 1.4, "sucks": 1.4, "shame*": 1.2,
    "appalling": 1.7, "dreadful": 1.6, "upset": 1.2, "worried": 0.6, "concerned": 0.5, "misleading": 1.3,
    "lied": 1.5, "lies": 1.3, "hidden fees": 1.3, "hidden charges": 1.3, "waste": 1.1, "wasted": 1.2,
    "still waiting": 1.2, "no answer": 0.9, "no response": 1.0, "no reply": 1.0, "ignored": 1.2, "hung up": 1.2,
    "cheated": 1.5, "unfair": 1.2, "outrageous": 1.6, "disaster": 1.5, "horrendous": 1.7, "mediocre": 1.1,
    "sloppy": 1.1, "unprofessional": 1.4, "down": 0.5, "lag*": 0.6, "buffering": 0.8, "crawling": 1.1,
    "no signal": 1.1, "zero signal": 1.3, "no internet": 1.2, "without internet": 1.2, "no service": 1.1,
    "without service": 1.1, "no network": 1.1, "no connection": 1.1, "no coverage": 1.0, "no number": 1.0,
    "no wifi": 1.1, "dead zone": 1.0, "keeps dropping": 1.2, "keeps disconnecting": 1.2, "keeps logging": 0.9,
    "keeps happening": 1.0, "disconnect*": 0.7, "hours on hold": 1.3, "on hold for": 1.0, "pay for nothing": 1.4,
    "paying for nothing": 1.4, "robbery": 1.5, "fraud*": 0.8, "unauthori*": 1.0, "abusive": 1.3, "absurd": 1.3,
    "insane": 1.0, "annoying": 1.1, "hassle": 1.0, "inconvenien*": 0.8, "not happy": 1.3, "not satisfied": 1.3,
    "dissatisfied": 1.4, "unhappy": 1.3, "doubled": 0.6, "hike": 0.8, "keep* going up": 1.0,
    "keep* increasing": 1.0, "keep* rising": 1.0, "spam*": 0.8, "harass*": 1.3, "stuck": 0.8, "lost": 0.5,
    "never arrived": 1.2, "never received": 1.1, "never got": 1.1, "never ordered": 1.2, "never activated": 1.1,
    "never had": 0.6, "never asked": 0.8, "not received": 0.9, "still no": 0.9, "still not": 0.9, "still is not": 0.9,
    "still has not": 0.9, "still have not": 0.9, "still does not": 0.9, "still nothing": 1.0, "still on my": 0.8,
    "unavailable": 0.8, "missed": 0.7, "deleted": 0.6, "blocked": 0.7, "rejected": 0.7, "regret*": 1.0,
    "please fix": 0.8, "fix this": 0.8, "fix it": 0.8, "that is your problem": 1.2, "your mistake*": 1.1,
    "your problem": 0.8, "not mine": 0.6, "can not be right": 1.1, "can not believe": 1.0, "no one": 0.6,
    "nobody": 0.6, "not acceptable": 1.5, "not good enough": 1.3, "should never have": 1.1,
    "should not have": 0.9, "nothing has changed": 1.1, "nothing changed": 1.1, "rough": 0.8, "struggl*": 0.9,
    "worse": 1.2, "getting worse": 1.4, "too slow": 1.2, "too long": 1.0, "far too": 0.8, "way too": 0.8,
    "excuse*": 0.5, "pointless": 1.2, "hopeless": 1.3, "garbage": 1.5, "rubbish": 1.4, "trash": 1.4,
    "shocking": 1.4, "shocked": 1.2, "disgrace*": 1.6, "incorrect": 0.8, "mistake": 0.7, "mistakes": 0.8,
    "overpriced": 1.2, "they said": 0.8, "as usual": 0.9, "again": 0.3, "twice": 0.4, "x2": 0.5,
    "penalised": 1.0, "penalized": 1.0, "charged for": 0.6, "charging me": 0.7, "charged me": 0.7,
    "makes no sense": 1.1, "sad": 1.0, "do not understand": 0.6, "so-so": 0.8, "confus*": 0.6, "unclear": 0.7,
    "not clear": 0.7, "even though": 0.4,
    "meh": 0.9, "dead": 0.9, "basically dead": 1.3, "not load": 0.9, "does not load": 1.0, "reboot*": 0.5,
    "punished": 1.3, "penalised for": 1.2, "feels like": 0.3, "a bit much": 0.9, "too much": 0.9,
    "a long time": 0.7, "with nothing": 0.8, "used to recommend": 1.1, "used to love": 1.1, "used to be": 0.8,
    "i was told": 0.7, "was told": 0.5, "told me": 0.4, "instead of": 0.4, "no idea": 0.5, "not until": 0.5,
    "refund the": 0.7, "refund me": 0.8, "either refund": 1.0, "logs me out": 0.9, "logging me out": 0.9,
    "no alert": 0.8, "no warning": 0.9, "without warning": 0.9, "no sms": 0.6,
    "will not be acceptable": 1.3, "sorry to go": 0.6, "throttled": 0.9, "capped": 0.6, "no change": 0.8,
    "going in circles": 1.1, "round in circles": 1.1, "generic answer": 0.9, "generic reply": 0.9,
    "copy paste": 0.8, "no compensation": 0.9, "not even": 0.6, "missing": 0.6, "overdrawn": 1.0,
    # The grievances of US consumer complaints, as titles are typed ("Data cap overages", "Throttling"): a
    # title names what went wrong, so these nouns and past participles carry the complaint on their own.
    "overbill*": 1.3, "overage*": 1.0, "throttl*": 1.0, "deprioriti*": 1.0, "over charged": 1.3,
    "billed twice": 1.4, "charged": 0.6, "billed": 0.5, "being charged": 0.8, "still being": 0.6,
    "without my": 1.0, "without consent": 1.1, "without permission": 1.1, "without authorization": 1.1,
    "without notice": 1.0, "with no notice": 1.0, "no notice": 0.9, "never told": 1.0, "not told": 0.8,
    "never informed": 1.0, "never delivered": 1.1, "never sent": 1.0, "never happened": 1.0, "never came": 1.0,
    "never showed": 1.1, "never opened": 1.0, "never applied": 1.0, "credit not applied": 1.0, "payment not applied": 1.0, "discount not applied": 1.0, "never credited": 1.1,
    "not credited": 1.0, "never processed": 1.0, "not refunded": 1.1, "no refund": 1.0, "no credit": 0.9,
    "no show": 1.2, "no-show": 1.2, "refuse*": 1.0, "will not deliver": 1.2, "can not cancel": 1.1,
    "can not": 0.6, "unable to": 0.9, "collections": 1.1, "debt collection": 1.1, "defective": 1.2,
    "faulty": 1.1, "overheat*": 1.0, "shuts off": 0.9, "keeps rebooting": 1.1, "keep calling": 1.0,
    "keeps calling": 1.0, "deceptive": 1.4, "deceiv*": 1.3, "false advertising": 1.5,
    "bait and switch": 1.5, "nickel and dime": 1.2, "breach": 1.2, "slower": 0.9, "fraction of": 0.9,
    "not unlimited": 1.2, "not delivered": 1.0, "not being delivered": 1.0, "straight to voicemail": 0.9,
    "internet out": 1.0, "been out": 1.0, "went up": 0.8, "price increase": 0.9, "rate increase": 0.9,
    "make no sense": 1.1, "not worth": 1.3, "locked into": 1.0, "locked in": 0.9, "did not sign": 1.0,
    "never signed": 1.0, "did not agree": 1.0, "does not exist": 0.8, "disappeared": 0.8,
    "supposed to": 0.7, "paying more": 0.8, "no resolution": 1.0, "without resolution": 1.0,
    "every single": 0.5, "dropped": 0.7, "misrepresent*": 1.3, "runaround": 1.2, "run around": 1.0,
    "restocking fee": 0.8, "hidden fee": 1.3, "junk fee*": 1.3, "bogus": 1.3, "erroneous": 1.0,
    "fraudulent*": 1.2, "dispute*": 0.8, "not resolved": 1.1, "unresolved": 1.1,
}
#: Regulators and consumer bodies a complaint is filed with: such a complaint is never praise.
REGULATORS = (
    "fcc", "ftc", "cfpb", "bbb", "better business bureau", "attorney general", "public utilities commission",
    "utilities commission", "public service commission", "ombudsman", "mediateur", "arcep", "dgccrf",
    "signalconso", "consumer protection",
)
#: Praise, satisfaction and resolution, in French (folded: no accents).
POSITIVE_FR: dict[str, float] = {
    "bien": 0.5, "tres bien": 1.3, "c est bien": 1.0, "super": 1.1, "genial*": 1.4, "excellent*": 1.6,
    "parfait*": 1.5, "au top": 1.4, "top": 0.9, "content": 1.1, "contente": 1.1, "contents": 1.1,
    "satisfait*": 1.2, "ravi*": 1.5, "merci": 0.35, "merci beaucoup": 0.9, "un grand merci": 1.3,
    "mille merci*": 1.3, "merci pour le": 0.9, "merci pour la": 0.9, "merci pour les": 0.9, "merci pour ce": 0.9,
    "merci a le": 1.0, "merci a la": 1.0, "merci au": 1.0, "merci aux": 1.0, "merci de avoir": 1.1,
    "merci pour votre aide": 1.0, "efficace*": 1.1, "rapide*": 0.7, "rapidement": 0.6, "aimable*": 1.1,
    "sympa*": 1.0, "agreable*": 1.0, "professionnel*": 1.0, "competent*": 1.0, "fiable*": 1.1,
    "impeccable*": 1.5, "nickel": 1.3, "bravo": 1.2, "felicit*": 1.2, "recommande": 1.1, "heureux": 1.2,
    "heureuse": 1.2, "rien a redire": 1.4, "pas mal": 0.8, "a le ecoute": 1.0, "serviable*": 1.2,
    "reactif*": 1.0, "reactive*": 1.0, "patient": 0.8, "patiente": 0.8, "souriant*": 1.0, "meilleur*": 0.9,
    "ameliore*": 0.7, "amelioration": 0.5, "fluide": 0.9, "bon": 0.5, "bonne": 0.5, "bons": 0.5,
    "formidable*": 1.5, "magnifique*": 1.4, "top du top": 1.6, "resolu*": 1.0, "regle": 0.8, "reglee": 0.8,
    "repare*": 0.9, "corrige": 0.8, "corriges": 0.8, "corrigee": 0.8, "retabli*": 0.8, "revenu": 0.5,
    "revenue": 0.5, "redevenu*": 0.8, "fonctionne parfaitement": 1.6, "marche parfaitement": 1.6,
    "fonctionne tres bien": 1.5, "marche tres bien": 1.5, "fonctionne bien": 1.0, "marche bien": 1.0,
    "marchent bien": 1.0, "marchent super bien": 1.5, "rien a dire": 1.2, "aucun souci": 0.9,
    "aucun probleme": 0.9, "adore": 1.4, "apprecie*": 1.0, "remercie*": 0.7, "enchante*": 1.3, "fidele*": 0.5,
    "facile*": 0.7, "gentil*": 1.1, "chaleureu*": 1.1, "au petit soin*": 1.4, "competitif*": 0.8,
    "avantageu*": 0.8, "bon rapport qualite prix": 1.3, "bonne surprise": 1.2, "soulage*": 0.9, "salue": 1.0,
    "je salue": 1.1, "correct": 0.6, "correcte": 0.6, "au moins": 0.6, "ce est deja ca": 0.8, "deja ca": 0.6,
    "je reconnais": 0.7, "reconnais": 0.5, "imbattable*": 1.3, "depanne bien": 1.0, "me depanne": 0.8,
    "tout va bien": 1.2, "ca va": 0.4, "affaire close": 1.0, "affaire classee": 1.0, "ce est fait": 0.7,
    "a tout change": 1.3, "tout change": 0.8, "enfin": 0.4, "5 etoiles": 1.4, "cinq etoiles": 1.4,
    "trop bien": 1.4, "trop content": 1.4, "trop contents": 1.4, "hate de": 0.9, "genialissime": 1.6,
    "pratique": 0.8, "ca marche": 0.7, "tout marche": 1.1, "tout fonctionne": 1.1, "plus rapide": 0.8,
    "gratuit": 0.5, "gratuite": 0.5, "zero frais": 0.7, "sans souci": 0.9, "sans probleme": 0.9,
    "bien recu": 0.6, "je reste": 0.6, "je vais rester": 0.8, "digne": 0.5, "ouf": 0.6, "cool": 0.8,
    "bluffant*": 1.4, "epatant*": 1.3, "tout marchait": 1.0, "tout a marche": 1.0, "tout fonctionnait": 1.0,
    "comme il faut": 0.9, "ravie de rester": 1.2,
}
#: Complaints, anger, disappointment and reported problems, in French (folded: no accents).
NEGATIVE_FR: dict[str, float] = {
    "nul": 1.5, "nulle": 1.5, "nuls": 1.5, "nullissime": 1.8, "mauvais*": 1.0, "horrible*": 1.6,
    "catastroph*": 1.6, "lamentable*": 1.6, "honteu*": 1.5, "honte": 1.5, "scandal*": 1.6, "inadmissible": 1.7,
    "inacceptable": 1.6, "inexcusable": 1.5, "decu": 1.3, "decue": 1.3, "decus": 1.3, "decues": 1.3,
    "decevant*": 1.3, "deception": 1.3, "mecontent*": 1.4, "furieu*": 1.6, "enerve*": 1.2, "agace*": 1.1,
    "exaspere*": 1.4, "en colere": 1.4, "colere": 1.2, "ras le bol": 1.6, "marre": 1.5, "en ai assez": 1.4,
    "en avoir assez": 1.4, "assez de": 0.6, "lent": 0.8, "lente": 0.8, "lenteur*": 0.9, "rame": 1.0,
    "rament": 1.0, "panne*": 0.9, "coupure*": 0.9, "ne fonctionne pas": 1.2, "ne fonctionne plus": 1.3,
    "ne marche pas": 1.2, "ne marche plus": 1.3, "ne marchent pas": 1.2, "fonctionne pas": 1.1,
    "marche pas": 1.1, "toujours pas": 1.0, "toujours rien": 1.2, "toujours en attente": 1.2,
    "toujours aussi long*": 1.2, "toujours autant": 1.0, "bug*": 0.8, "plante": 0.8, "plantage*": 0.9,
    "probleme": 0.6, "problemes": 0.6, "souci": 0.5, "soucis": 0.5, "erreur*": 0.7, "arnaque*": 1.7,
    "escroc*": 1.7, "du vol": 1.5, "voleur*": 1.6, "cher": 0.6, "trop cher": 1.1, "hors de prix": 1.3,
    "abusi*": 1.3, "incompeten*": 1.5, "impoli*": 1.3, "desagreable*": 1.3, "aucune reponse": 1.0,
    "sans reponse": 1.0, "injoignable*": 1.2, "attente": 0.4, "galere*": 1.2, "ne importe quoi": 1.4,
    "pire": 1.4, "plus jamais": 1.4, "foutage": 1.7, "se moque": 1.4, "se moquent": 1.4, "moquez": 1.4,
    "pas serieu*": 1.3, "pas normal": 1.2, "anormal*": 1.0, "insupportable*": 1.5, "penible*": 1.2,
    "minable*": 1.6, "pitoyable*": 1.6, "deplorable*": 1.5, "inquiet*": 0.6, "instable*": 1.0,
    "deconnexion*": 0.8, "deconnecte*": 0.8, "coupe": 0.6, "coupee": 0.7, "sans internet": 1.2,
    "sans reseau": 1.2, "pas de reseau": 1.1, "plus de reseau": 1.2, "pas de internet": 1.2,
    "plus de internet": 1.2, "pas de wifi": 1.1, "plus de wifi": 1.1, "pas de connexion": 1.1,
    "plus de connexion": 1.2, "aucun reseau": 1.1, "zero reseau": 1.3, "pas de signal": 1.1, "aucun signal": 1.1,
    "pas de tonalite": 1.1, "rien du tout": 0.8, "sos uniquement": 1.1, "facture deux fois": 1.4,
    "preleve deux fois": 1.4, "double prelevement": 1.3, "prelevement en double": 1.3, "surfactur*": 1.3,
    "faible": 0.6, "insuffisant*": 0.9, "degrade*": 0.9, "en baisse": 0.9, "ne depasse pas": 1.0,
    "raccroche*": 1.0, "mensonge*": 1.4, "menti": 1.4, "trompe*": 1.3, "trompeu*": 1.3, "perte de temps": 1.3,
    "pas content": 1.3, "pas contente": 1.3, "pas satisfait*": 1.3, "insatisfait*": 1.4, "agacant*": 1.1,
    "choque*": 1.3, "revoltant*": 1.6, "indigne*": 1.5, "aberrant*": 1.5, "ridicule*": 1.4, "absurde*": 1.3,
    "dommage": 0.8, "regrette*": 1.0, "bloque*": 0.7, "perdu*": 0.5, "jamais recu": 1.2, "jamais eu": 0.6,
    "jamais commande": 1.2, "jamais souscrit": 1.2, "rien souscrit": 1.1, "injustifi*": 1.2, "inutile*": 1.2,
    "pas terrible": 1.1, "rien ne marche": 1.5, "rien ne fonctionne": 1.5, "rien ne a change": 1.2,
    "augmentation": 0.4, "hausse": 0.5, "a double": 0.8, "a triple": 1.0, "harcel*": 1.3, "demarchage": 0.8,
    "pourri*": 1.5, "merdique": 1.6, "pas a la hauteur": 1.3, "mal": 0.6, "passe mal": 1.1, "degout*": 1.5,
    "insulte*": 1.3, "en peux plus": 1.5, "peux plus": 1.0, "craquer": 1.0, "ce est non": 1.2, "de trop": 1.0,
    "on me reclame": 1.1, "vous me reclamez": 1.2, "me reclame": 0.9, "hors de question": 1.3,
    "vous corrigez": 0.8, "corrigez": 0.8, "annulez": 0.8, "remboursez": 0.9, "je conteste": 1.1,
    "conteste": 0.8, "symbolique": 0.8, "pas grand chose": 0.8, "pas grand-chose": 0.8, "ne aurait jamais du": 1.1,
    "ne aurait pas du": 1.0, "aurait du": 0.6, "a cause de": 0.6, "a cause des": 0.6, "inutilisable*": 1.4,
    "impossible": 0.9, "toujours le meme": 0.9, "encore une fois": 0.7, "une fois de plus": 0.9,
    "deuxieme fois": 0.7, "troisieme fois": 1.0, "encore": 0.25, "pas de geste": 0.9, "aucun geste": 1.0,
    "rien recu": 1.0, "pas recu": 0.9, "jamais reussi": 1.0, "pas pu": 0.7, "aucune amelioration": 1.2,
    "pas de amelioration": 1.2, "sans mon": 0.6, "inadapte*": 1.0, "injuste": 1.2, "leger": 0.5,
    "un peu leger": 1.0, "lourd": 0.6, "galerer": 1.2, "trop long*": 1.0, "beaucoup trop": 0.9,
    "pas acceptable": 1.5, "pas possible": 0.8, "pas logique": 0.9, "incomprehensible*": 1.1,
    "sans explication": 1.0, "aucune explication": 1.0, "pas de explication": 1.0, "promis": 0.4,
    "dur": 0.5, "difficile": 0.6, "malgre": 0.5, "ne sert a rien": 1.3, "sert a rien": 1.2,
    "plus de fibre": 1.2, "pas de fibre": 1.1, "sans fibre": 1.1, "sans box": 1.0, "pas de box": 1.0,
    "bride*": 0.9, "pas tenable": 1.2, "intenable": 1.2, "ca fait un mois": 0.8, "ca fait deux": 0.6,
    "ca fait trois": 0.7, "ca fait long": 0.9, "fait long": 0.7, "on me avait dit": 0.8, "on me a dit": 0.5,
    "me avait dit": 0.6, "au lieu de": 0.5, "jamais demande*": 1.1, "aucun sms": 0.8, "aucune alerte": 0.9,
    "aucun avertissement": 0.9, "sans avertissement": 0.9, "rate": 0.6, "rates": 0.7, "ratee*": 0.7,
    "redemarr*": 0.5, "tourner en rond": 1.1, "tourne en rond": 1.1, "faire beaucoup": 0.8, "fait beaucoup": 0.6,
    "commence a faire": 0.5, "releve de le exploit": 1.2, "exploit": 0.5, "pas sur de": 0.6,
    "ne sont pas acceptables": 1.3, "ne seront pas acceptables": 1.3, "pas acceptables": 1.3,
    "punis": 1.2, "puni": 1.2, "decouvert": 0.6, "frais bancaires": 0.6, "aucune estimation": 0.9,
    "aucune info*": 0.9, "aucune nouvelle*": 0.9, "sans nouvelle*": 0.9, "sans rien": 0.7, "trop de": 0.5,
    "pas la lune": 0.6, "rembourser les": 0.6, "toujours les memes": 0.9, "rien a faire": 0.7,
    "ne sert": 0.6, "a regret": 0.5, "triste": 1.0, "ne comprends pas": 0.7, "tres longue": 1.0,
    "trop longue": 1.1, "longue": 0.4, "bof": 0.9, "inquietude": 0.9, "pas du tout": 0.4,
}

#: Words that strengthen the next sentiment cue.
INTENSIFIERS = frozenset(
    """very really so extremely totally absolutely completely incredibly super too truly utterly highly
    tres vraiment trop tellement hyper totalement completement absolument vachement particulierement
    carrement franchement extremement si""".split()
)
#: Words that negate a sentiment cue a few tokens later ("not good", "pas content", "jamais satisfait").
NEGATORS = frozenset("not no never ne pas jamais aucun aucune nothing rien without sans hardly nor ni".split())
#: Words that turn the sentence into a contrast: both sides are read as separate clauses ("good but slow").
CONTRASTS = frozenset(
    "but however although though yet otherwise mais cependant pourtant toutefois neanmoins sinon".split()
)
#: Words that make a reservation small ("just a shame the app...", "juste un petit bémol"): praise stays praise.
MINIMIZERS = frozenset(
    "just only small slight slightly minor little bit juste seul seule petit petite leger legere".split()
)
#: Participles saying a problem is over: "panne réglée", "bug corrigé", "fixed the logout bug".
RESOLUTIONS = frozenset(
    """regle reglee regles reglees corrige corrigee corriges corrigees resolu resolue resolus resolues repare
    reparee repares retabli retablie retablis fixed resolved sorted repaired solved gone""".split()
)
CONTRAST_PHRASES = ("par contre", "en revanche", "even if", "meme si", "sauf que", "except that", "on the other hand")

#: Set phrases that are always sarcastic in a complaint: read as strongly negative.
SARCASM_PHRASES: dict[str, float] = {
    "merci pour rien": 2.0, "merci du cadeau": 1.8, "thanks for nothing": 2.0, "thank you for nothing": 2.0,
    "quelle blague": 1.6, "what a joke": 1.6, "yeah right": 1.4, "ce est du propre": 1.6, "encore bravo": 1.6,
    "bravo pour": 1.3, "chapeau bas": 1.0, "je adore payer": 1.6, "je adore attendre": 1.6,
    "love paying": 1.6, "love waiting": 1.6, "love how": 1.2, "love being": 1.4, "love when": 1.2,
    "je adore quand": 1.4, "je adore etre": 1.4, "oh great": 1.5, "oh super": 1.5, "oh wonderful": 1.6,
    "oh perfect": 1.5, "oh genial": 1.5, "just great": 1.5, "just perfect": 1.5, "just what i needed": 1.5,
    "thanks a lot lumea": 1.0, "bien joue lumea": 1.2, "well done lumea": 1.2, "great job lumea": 1.2,
    "great job lumeatelecom": 1.2, "thanks to lumea": 1.2, "thanks to lumeatelecom": 1.2, "grace a lumea": 1.0,
    "grace a lumeatelecom": 1.0, "quel service": 1.2, "what a service": 1.2, "merci bien": 0.9,
    "comme de habitude": 0.8, "as usual": 0.8, "of course": 0.3, "cool cool": 1.4, "( non )": 1.5,
    "( not )": 1.5, "very optimistic": 1.3, "tres optimiste": 1.3, "world class": 0.6, "truly world": 1.0,
    "toujours aussi creatif*": 1.4, "vraiment au top": 0.3, "on adore": 0.6, "heureusement que": 0.4,
    "joli cadeau": 1.4, "beau cadeau": 1.3, "nice gift": 1.3, "bah bravo": 1.5, "ah bravo": 1.3,
    "je adore financer": 1.6, "mon oeil": 1.4, "my foot": 1.2, "really nailing": 1.4, "nailing it": 1.2,
    "nailing this": 1.4,
}
#: Positive words that, followed by a comma/ellipsis and a complaint, are sarcastic ("Great, another outage").
SARCASM_OPENERS = frozenset(
    """great super genial parfait perfect excellent fantastic wonderful brilliant bravo magnifique formidable
    nice lovely awesome top amazing merci thanks splendide chapeau cool""".split()
)
#: Words announcing a repetition of a problem: after a sarcasm opener, or as churn "repeated problems" cues.
REPEAT_WORDS = frozenset("another again encore nouvelle nouveau yet".split())
SARCASM_EMOJI = ("\U0001f644", "\U0001f643", "\U0001f612", "\U0001f60f", "\U0001f926", "\U0001fae0")
POSITIVE_EMOJI = ("\U0001f600", "\U0001f603", "\U0001f604", "\U0001f60a", "\U0001f642", "\U0001f44d", "\u2764",
                  "\U0001f60d", "\U0001f64f", "\U0001f44f", "\U0001f389", "\u2b50", "\U0001f601", "\U0001f64c",
                  "\U0001f973", "\U0001f4aa", "\U0001f60e", "\U0001f970", "\U0001f929", "\U0001f496")
NEGATIVE_EMOJI = ("\U0001f620", "\U0001f621", "\U0001f624", "\U0001f61e", "\U0001f622", "\U0001f62d",
                  "\U0001f44e", "\U0001f92c", "\U0001f4a2", "\U0001f629", "\U0001f62b", "\U0001fae0",
                  "\U0001f620", "\U0001f612", "\U0001f92f", "\U0001f635")
#: Words saying "both": a comment that calls itself mixed is mixed.
MIXED_MARKERS = ("mitige", "mitigee", "mitiges", "mixed feelings", "bittersweet", "en demi-teinte", "ambivalent")
#: Politeness words: sentiment-free when the comment asks something ("Can you check? Thanks!").
POLITENESS = frozenset(
    "thank thanks merci cheers remercie".split()
)
#: Politeness formulas that carry no sentiment (they end complaints as often as compliments).
NEUTRAL_FORMULAS = (
    "merci de avance", "merci par avance", "merci de me", "merci de nous", "merci de bien vouloir",
    "merci de votre retour", "merci pour votre retour", "merci pour votre reponse", "merci de verifier",
    "merci de regarder", "thanks in advance", "thank you in advance", "cordialement", "regards",
    "best regards", "kind regards", "warm regards", "best wishes", "merci de me repondre", "merci de me rappeler",
    "thank you for looking", "thanks for looking", "good morning", "good afternoon", "good evening", "good day",
    "bonne journee", "bonne soiree", "bonne fin de journee", "bon week-end", "bon weekend", "bonne continuation",
    "je vous remercie de bien vouloir", "bien vouloir", "bien note", "eh bien", "ou bien", "bien que",
    "bien entendu", "bien sur", "aussi bien", "si bien que", "bien recu", "bon courage", "bon a savoir",
    "bonne annee", "meilleurs voeux", "happy new year", "lumea pro", "fibre pro", "pro mobile",
    "en bon etat", "bon etat", "good condition", "de bonne foi", "good faith", "bon de retour",
    "ok so", "bon ben", "the best way", "the best option", "le mieux", "what is the best", "quelle est la meilleure",
    "outage credit", "credit for the outage", "compensation for the outage", "geste pour la panne",
    "avoir pour la panne", "indemnisation de la panne", "indemnisation pour la panne", "kind of", "what kind",
    "quel genre", "thank you for your reply", "thanks for your reply", "happy to help", "happy to share",
    "happy to provide", "happy to send",
    "glad to help", "glad to share", "heureux de vous", "ravi de vous",
    "thank you for your message", "thanks for your help",
)

# --- the company ---------------------------------------------------------------------------------------

#: Lumea's own published contact details (knowledge base: support line, DPO and accessibility addresses). A reply
#: that gives them is helping, not leaking personal data: the judge does not count them as PII.
PUBLIC_CONTACTS = ("@lumea.example", "01 99 00 39 00")


# --- churn ---------------------------------------------------------------------------------------------

#: Other operators, French and British/American: "passer chez Free", "switch to Vodafone".
COMPETITORS = (
    "free", "sfr", "orange", "bouygues", "bouygues telecom", "sosh", "red", "red by sfr", "b and you", "byou",
    "la poste mobile", "coriolis", "prixtel", "nrj", "lebara", "lyca", "syma", "auchan telecom", "vodafone",
    "ee", "o2", "three", "verizon", "at and t", "att", "t-mobile", "tmobile", "sky", "bt", "virgin", "giffgaff",
    "tesco", "a competitor", "the competition", "another provider", "another operator", "another carrier",
    "another network", "a different provider", "a different operator", "a different carrier",
    "a different network", "un concurrent", "la concurrence", "un autre operateur", "autre operateur",
    "an operator", "a provider", "a new provider", "a new operator", "a competitor", "my old operator",
    "my previous operator", "mon ancien operateur", "un autre", "une autre offre",
)

#: Verbs and phrases of leaving. Read with the sentence around them: negated ("je ne veux pas résilier") it
#: is not a leave; conditional ("si ça continue je résilie") it is a threat (medium); plain, it is high.
LEAVE_PHRASES: tuple[str, ...] = (
    # French
    "resili*", "je pars", "je vais partir", "je vais aller voir ailleurs", "aller voir ailleurs",
    "voir ailleurs", "je me en vais", "je quitte", "quitter lumea", "quitte lumea", "je vous quitte",
    "vous quitter", "changer de operateur", "change de operateur", "changement de operateur",
    "changer de fournisseur", "changer de prestataire", "passer chez", "je passe chez", "passe chez",
    "partir chez", "aller chez", "vais chez", "pars chez", "partir a la concurrence", "passer a la concurrence",
    "aller a la concurrence", "porter mon numero", "portabilite", "code rio", "numero rio", "mon rio",
    "mettre fin a mon", "mettre un terme a mon", "arreter mon abonnement", "arreter mon contrat",
    "fermer mon compte", "cloturer mon compte", "mon preavis", "ne renouvellerai pas", "ne vais pas renouveler",
    "ne suis plus client*", "ne serai plus client*", "ne suis plus chez vous", "plus chez vous", "ex client*",
    "adieu lumea", "je me casse", "je me barre", "je change de operateur", "je change de cremerie",
    "je suis parti", "je suis partie", "suis parti de chez", "a ete porte", "numero porte", "abonnement ailleurs",
    "pris un abonnement chez", "rio", "je prends autre chose", "prendre autre chose", "prends autre chose",
    "je repars chez", "repartir chez", "retourner chez", "retourne chez",
    # English
    "cancel*", "terminat*", "leave lumea", "leaving lumea", "leave you", "leaving you", "left lumea",
    "switch provider*", "switch operator*", "switch carrier*", "switch network*", "switching provider*",
    "switching operator*", "switching carrier*", "switching network*", "moving to another provider",
    "go to another", "going to another", "port my number", "porting my number", "port out", "porting out",
    "number transfer", "pac code", "close my account", "closing my account", "end my contract",
    "ending my contract", "done with lumea", "done with you", "take my business elsewhere",
    "taking my business elsewhere", "look elsewhere", "looking elsewhere", "not renewing", "will not renew",
    "goodbye lumea", "bye lumea", "find another provider", "finding another provider", "jump ship",
    "walk away", "no longer be a customer", "no longer a customer", "end my _ contract", "end our contract",
    "end our _ contract", "i am leaving", "i am out", "i am gone", "was ported", "been ported", "number ported",
    "signed up elsewhere", "go elsewhere", "going elsewhere", "i am switching", "am switching", "will switch",
    "consider an operator", "consider another", "consider a different", "left you", "i left",
) + tuple(
    f"{verb} {competitor}"
    for competitor in COMPETITORS
    for verb in (
        "switch to", "switching to", "switched to", "move to", "moving to", "go to", "going to", "going with",
        "leave for", "leaving for", "signed up with", "signed with", "sign up with", "join", "joining",
        "souscrit chez", "signe chez", "abonne chez", "aller chez", "passer chez",
    )
)
#: Objects that make "cancel" about something else than the contract ("cancel my order").
NON_CONTRACT_OBJECTS = frozenset(
    """order commande option appointment rendez-vous rendez vous rdv livraison delivery intervention visit
    visite paiement payment transfer virement request demande ticket roaming""".split()
)
#: Words that make a leave cue hypothetical: a threat or a consideration, i.e. medium risk.
CONDITIONALS = frozenset(
    """si if unless sinon otherwise considering consider considere envisage envisager envisageons reflechi
    reflechis reflechir songe songer hesite hesiter might could maybe perhaps peut-etre pourrais
    pourrait tempted tente thinking think pense penser wondering whether peux can able""".split()
)
CONDITIONAL_PHRASES = (
    "a moins que", "or else", "ou alors", "au prochain", "la prochaine", "next time", "one more", "encore une",
    "if this", "if it", "if nothing", "si ca", "si cela", "si rien", "si vous", "if you", "thinking of",
    "thinking about", "en train de regarder", "je regarde", "looking at", "comparing", "je compare",
    "peut etre", "ou je", "or i", "sinon je", "otherwise i", "not sure", "pas sur", "any reason to stay",
    "raison de rester", "why should i stay", "pourquoi rester",
)
#: Phrases of strong dissatisfaction or repeated problems: medium churn risk even without a leave verb.
MEDIUM_CHURN_PHRASES: dict[str, float] = {
    "ras le bol": 1.0, "marre": 1.0, "fed up": 1.0, "sick of": 1.0, "sick and tired": 1.0, "tired of": 0.8,
    "last straw": 1.0, "derniere fois": 0.8, "derniere chance": 1.0, "last chance": 1.0, "last time": 0.6,
    "concurrence": 0.8, "concurrent*": 0.8, "competitor*": 0.8, "competition": 0.6, "ailleurs": 0.6,
    "elsewhere": 0.6, "other operators": 0.8, "autres operateurs": 0.8, "moins cher": 0.5, "cheaper": 0.5,
    "better offer": 0.8, "another provider": 1.0, "another operator": 1.0, "another carrier": 1.0,
    "si ca continue": 1.0, "if this continues": 1.0, "if this keeps": 1.0, "if nothing changes": 1.0,
    "si rien ne change": 1.0, "if it happens again": 1.0, "si ca recommence": 1.0, "considering": 0.6,
    "my options": 0.8, "mes options": 0.6, "je reflechis": 0.6, "je compare": 1.1, "d autres font": 0.8,
    "de autres font": 0.8, "others offer": 0.8, "someone else offers": 0.9, "other providers": 1.1,
    "look at other": 1.0, "ce que je fais encore chez vous": 1.2, "interet de rester": 1.1, "point in staying": 1.1,
    "reason to stay": 1.0, "raison de rester": 1.0, "pas sur de renouveler": 1.2, "not sure i will renew": 1.2,
    "deuxieme fois": 0.8, "second time": 0.8, "2nd": 0.5, "troisieme message": 1.0, "third message": 1.0,
    "asked twice": 0.8, "reported it twice": 0.8, "twice": 0.3, "three times": 0.7, "trois fois": 0.7,
    "deuxieme panne": 0.9, "second outage": 0.9, "troisieme panne": 1.1, "third outage": 1.1, "pour rien": 0.4,
    "new customers": 0.6, "nouveaux clients": 0.6, "nouveau client": 0.5, "starting to regret": 1.1,
    "commence a regretter": 1.1, "make me regret": 1.1, "meilleure offre": 0.8, "better deal": 0.8, "sfr": 0.6,
    "bouygues": 0.6, "sosh": 0.6, "red by sfr": 0.6, "vodafone": 0.6, "t-mobile": 0.6, "verizon": 0.6,
    "une fois de plus": 0.7, "once again": 0.7, "encore une fois": 0.7, "again": 0.5, "encore": 0.2,
    "troisieme fois": 1.0, "third time": 1.0, "3e fois": 1.0, "3eme fois": 1.0, "quatrieme fois": 1.0,
    "fourth time": 1.0, "plusieurs fois": 0.7, "several times": 0.7, "many times": 0.7, "multiple times": 0.7,
    "combien de fois": 0.9, "how many times": 0.9, "a chaque fois": 0.6, "every time": 0.6, "everytime": 0.6,
    "tous les jours": 0.6, "every day": 0.6, "chaque semaine": 0.3, "every week": 0.3, "depuis des semaines": 0.9,
    "depuis des mois": 1.0, "for weeks": 0.9, "for months": 1.0, "depuis _ semaines": 0.8,
    "depuis _ mois": 0.9, "since _ weeks": 0.8, "for _ weeks": 0.8, "for _ months": 0.9, "depuis _ jours": 0.2,
    "for _ days": 0.2, "toujours pas": 0.6, "still not": 0.6, "still no": 0.6, "still waiting": 0.7,
    "toujours rien": 0.7, "toujours en attente": 0.7, "jamais": 0.2, "never": 0.2, "inadmissible": 0.6,
    "unacceptable": 0.6, "inacceptable": 0.6, "scandal*": 0.6, "arnaque*": 0.4, "scam*": 0.7,
    "plus jamais": 0.8, "never again": 0.8, "regrette mon": 0.8, "regret*": 0.5, "a bout": 0.8,
    "patience a des limites": 1.0, "ma patience": 0.8, "my patience": 0.8, "en ai assez": 1.0,
    "had enough": 1.0, "en avoir assez": 1.0, "reconsider*": 0.8, "reconsiderer": 0.8, "fidelite": 0.4,
    "loyalty": 0.4, "client depuis": 0.5, "customer for": 0.5, "customer since": 0.5, "years": 0.1,
    "ans": 0.1, "resiliation": 0.3, "frais de resiliation": 0.3, "termination fee*": 0.3, "prix augmente": 0.4,
    "price increase": 0.4, "augmentation": 0.4, "hausse": 0.4,
}

# --- topics --------------------------------------------------------------------------------------------

TOPIC_CUES: dict[str, dict[str, float]] = {
    "billing": {
        "overbill*": 1.0, "overage*": 0.9, "autopay": 0.8, "auto pay": 0.8, "collections": 0.8,
        "prorat*": 0.9, "activation fee": 0.9, "paper bill*": 0.9, "add-on": 0.5, "gift card": 0.8,
        "frais de cloture": 0.6, "refunding": 1.0, "facture": 1.0,
        "factur*": 1.0, "invoice*": 1.0, "bill": 1.0, "bills": 1.0, "billed": 1.0, "billing": 1.0,
        "charge": 0.8, "charged": 1.0, "charges": 0.8, "charging": 0.7, "preleve*": 1.0, "prelevement*": 1.0,
        "paiement*": 0.9, "payment*": 0.9, "paye": 0.6, "payer": 0.6, "paid": 0.6, "pay": 0.5,
        "rembours*": 1.0, "refund*": 1.0, "avoir sur": 0.8, "credit note": 1.0, "debite*": 1.0,
        "direct debit": 1.0, "montant": 0.8, "somme": 0.5, "euros": 0.5, "eur": 0.4, "trop percu": 1.0,
        "overcharg*": 1.0, "double charge*": 1.0, "receipt": 0.7, "iban": 0.8, "rib": 0.8, "carte bancaire": 0.7,
        "credit card": 0.7, "transaction*": 0.6, "echeance": 0.7, "mensualite*": 0.7, "frais": 0.5, "fee": 0.5,
        "fees": 0.5, "geste commercial": 0.8, "compensation": 0.6, "indemnis*": 0.6, "debt": 0.6, "dette": 0.6,
        "relance": 0.5, "impaye*": 0.9, "unpaid": 0.9, "statement": 0.5, "amount": 0.7, "charged twice": 1.0,
        "hors forfait": 0.8, "surfactur*": 1.0, "bank": 0.5, "banque": 0.5, "late fee": 0.9, "penalit*": 0.6,
    },
    "network": {
        "throttl*": 1.2, "deprioriti*": 1.2, "congestion": 1.0, "hotspot": 0.9, "voicemail": 0.7,
        "texts": 0.8, "text messages": 0.9, "calls go": 0.8, "tower": 0.5, "storm": 0.7, "internet out": 1.0,
        "unlimited data": 0.9, "data cap": 0.7, "dropping": 0.8, "gaming": 0.5, "slower": 0.6,
        "plus de internet": 1.0, "pas de internet": 1.0, "sans internet": 1.0, "no internet": 1.0,
        "without internet": 1.0, "plus de reseau": 1.0,
        "antenna*": 0.9, "no drops": 1.0, "sos uniquement": 1.0, "gigabit": 0.8, "routage": 0.8, "routing": 0.8,
        "femtocell": 0.9, "evening drops": 1.0, "drops": 0.6, "service came back": 0.8, "ping a": 0.3,
        "reseau": 1.0, "network": 1.0, "signal": 1.0, "coverage": 1.0, "couverture": 1.0, "4g": 1.0, "5g": 1.0,
        "3g": 1.0, "fibre": 0.8, "fiber": 0.8, "adsl": 0.9, "internet": 0.6, "wifi": 0.5, "wi-fi": 0.5,
        "connexion": 0.8, "connection": 0.8, "connectivity": 0.9, "debit": 0.8, "speed": 0.9, "speeds": 0.9,
        "slow": 0.6, "lent": 0.6, "lente": 0.6, "lenteur*": 0.8, "latence": 0.9, "latency": 0.9, "ping": 0.7,
        "outage*": 1.0, "panne*": 0.9, "coupure*": 0.9, "down": 0.5, "no service": 0.9, "dropped call*": 1.0,
        "appels coupes": 1.0, "zone blanche": 1.0, "antenne*": 0.9, "mbps": 1.0, "mb s": 1.0, "bande passante": 1.0,
        "bandwidth": 1.0, "deconnect*": 0.8, "disconnect*": 0.8, "instable": 0.5, "unstable": 0.5,
        "buffering": 0.8, "bars": 0.7, "barres": 0.7, "reception": 0.8, "capte": 0.9, "capter": 0.9,
        "mobile data": 0.8, "data": 0.4, "donnees mobiles": 0.8, "no signal": 1.0, "dead zone": 1.0,
        "calls drop": 1.0, "call quality": 0.9, "qualite des appels": 0.9, "incident": 0.6, "debits": 0.8,
        "rural": 0.5, "campagne": 0.4, "en ville": 0.3, "zone": 0.5, "area": 0.4, "quartier": 0.5,
        "lag*": 0.5, "speedtest": 1.0, "upload": 0.7, "download": 0.6, "telechargement": 0.6, "streaming": 0.4,
    },
    "support": {
        "callback": 0.9, "supervisor": 0.9, "chat bot": 0.9, "bot": 0.5, "no-show": 0.8, "no show": 0.8,
        "appointment": 0.6, "repair crew": 0.6, "crew": 0.5,
        "appli": 0.8, "app": 0.8, "application": 0.5, "chat widget": 1.0, "onglet": 0.6, "tuto": 0.5,
        "espace client": 0.6, "interpret*": 0.5, "sign-language": 0.8, "sign language": 0.8, "langue des signes": 0.8,
        "reach you": 0.7, "vous joindre": 0.7, "rendez-vous": 0.5, "logout": 0.8, "log out": 0.8, "logs me out": 0.8,
        "mises a jour": 0.3, "android": 0.5, "interface": 0.5, "website": 0.4, "site": 0.3,
        "service client": 1.0, "customer service": 1.0, "customer support": 1.0, "support": 0.8,
        "conseill*": 0.9, "advisor*": 0.9, "adviser*": 0.9, "agent": 0.8, "agents": 0.8, "hotline": 1.0,
        "call center": 1.0, "call centre": 1.0, "centre de appel*": 1.0, "on hold": 1.0, "en attente": 0.5,
        "attente": 0.6, "waiting": 0.6, "wait": 0.5, "attendu": 0.5, "chat": 0.6, "chatbot": 0.8,
        "service apres vente": 1.0, "sav": 0.9, "nobody": 0.5, "no one": 0.5, "personne ne": 0.6,
        "representative": 0.9, "rappel*": 0.6, "call back": 0.8, "called back": 0.8,
        "reponse": 0.5, "respond*": 0.5, "reply": 0.4, "answer": 0.4, "reclamation*": 0.9, "complaint*": 0.8,
        "ticket": 0.7, "boutique": 0.7, "store": 0.5, "shop": 0.5, "accueil": 0.7, "interlocuteur*": 0.9,
        "escalad*": 0.7, "manager": 0.6, "responsable": 0.5, "help": 0.4, "aide": 0.4, "helpline": 1.0,
        "telephone": 0.3, "phoned": 0.5, "called": 0.5, "appele": 0.5, "joindre": 0.7, "injoignable*": 1.0,
        "email*": 0.4, "mail": 0.3, "courrier": 0.4, "technicien*": 0.5, "technician*": 0.5,
        "staff": 0.8, "employee*": 0.7, "equipe": 0.4, "team": 0.4, "vendeur*": 0.7, "vendeuse*": 0.7,
        "explication*": 0.5, "explained": 0.5, "explique*": 0.5, "ecoute": 0.6, "listened": 0.6,
        "minutes": 0.3, "heures": 0.3, "hours": 0.3, "raccroch*": 0.8, "hung up": 0.8, "transfere*": 0.5,
        "transferred": 0.5, "suivi": 0.4, "follow up": 0.5, "follow-up": 0.5, "service": 0.3,
    },
    "pricing": {
        "deceptive": 0.8, "advertis*": 0.9, "sales": 0.7, "salesman": 0.9, "value": 0.7, "money": 0.5,
        "nickel and dime": 0.9, "bundle": 0.7, "senior discount": 1.0, "rate": 0.4,
        "student offer": 1.0, "offre etudiante": 1.0, "campus": 1.0, "geste": 0.7, "fidelisation": 1.0,
        "retention": 1.0, "points": 0.5, "loyalty points": 0.9, "worth every": 0.8, "partout ailleurs": 0.6,
        "option monde": 0.5, "remise famille": 1.0, "famille": 0.3,
        "prix": 1.0, "price": 1.0, "prices": 1.0, "pricing": 1.0, "tarif*": 1.0, "cher": 0.9, "chere": 0.9,
        "expensive": 0.9, "cheap": 0.7, "cheaper": 0.8, "moins cher": 0.9, "augment*": 0.8, "hausse": 0.9,
        "increase": 0.6, "increased": 0.6, "hike": 0.9, "raised": 0.6, "promo*": 0.9, "offre": 0.6,
        "offer": 0.6, "offers": 0.6, "deal": 0.6, "discount*": 0.9, "reduction": 0.8, "remise": 0.8,
        "bon plan": 0.8, "cost*": 0.7, "coute": 0.8, "coutent": 0.8, "couter": 0.7, "rapport qualite prix": 1.0,
        "value for money": 1.0, "per month": 0.6, "par mois": 0.6, "mois": 0.2, "month": 0.2, "euros": 0.3,
        "competitor*": 0.5, "concurren*": 0.5, "hors de prix": 1.0, "abordable": 0.8, "affordable": 0.8,
        "overpriced": 1.0, "budget": 0.6, "doubled": 0.5, "double": 0.3, "plus cher": 1.0, "more expensive": 1.0,
        "new customers": 0.7, "nouveaux clients": 0.7, "loyalty": 0.4, "fidelite": 0.4,
    },
    "contract": {
        "number transfer": 1.2, "transfer my number": 1.2, "transfer my service": 1.0, "port out": 1.0,
        "port in": 0.8, "ported": 0.6, "carrier*": 0.5, "locked into": 0.9, "two year": 0.8, "pause my": 0.9,
        "address change": 1.0, "eligibility": 0.8, "account online": 0.5,
        "number port": 1.0, "port from": 0.8, "frais de cloture": 1.0, "cloture": 0.7, "engage": 0.6,
        "end my": 0.6, "renouveler": 0.8, "porte": 0.4, "je suis parti": 0.8, "signed with": 0.5,
        "contrat": 1.0, "contract": 1.0, "engagement": 1.0, "commitment": 1.0, "resili*": 1.0, "cancel*": 0.9,
        "terminat*": 1.0, "early termination": 1.0, "fin de engagement": 1.0, "changer de forfait": 1.0,
        "change my plan": 1.0, "changement de forfait": 1.0, "upgrade": 0.8, "downgrade": 0.9, "plan": 0.5,
        "forfait": 0.5, "abonnement": 0.7, "subscription": 0.7, "renouvel*": 0.8, "renew*": 0.8,
        "portabilite": 0.9, "rio": 0.9, "port my number": 0.9, "switch": 0.5, "switching": 0.5,
        "conditions": 0.6, "cgv": 1.0, "clause": 0.9, "preavis": 1.0, "notice period": 1.0,
        "sans engagement": 1.0, "12 mois": 0.7, "24 mois": 0.7, "12 months": 0.7, "24 months": 0.7,
        "minimum term": 1.0, "penalty": 0.6, "terms": 0.5, "signed": 0.5, "signe": 0.5, "souscri*": 0.6,
        "subscribed": 0.6, "changer de operateur": 0.8, "quitter": 0.6, "leave": 0.4, "leaving": 0.4,
        "moving house": 0.8, "demenag*": 0.8, "move house": 0.8, "titulaire": 0.7, "holder": 0.5,
        "frais de resiliation": 1.0, "option*": 0.5, "offer change": 0.6, "migration": 0.6, "close my account": 0.9,
    },
    "equipment": {
        "gateway": 1.0, "return label": 1.0, "restocking": 1.0, "overheat*": 0.8, "unlock": 0.8,
        "replacement phone": 1.0, "sim card": 1.0,
        "touches": 0.7, "tv app": 0.5, "chromecast": 0.6, "controle parental": 0.8, "parental": 0.7,
        "new phone": 0.8, "nouveau telephone": 0.8, "telephone": 0.5,
        "box": 0.9, "livebox": 1.0, "freebox": 1.0, "bbox": 1.0, "lumeabox": 1.0, "lumea box": 1.0,
        "routeur": 1.0, "router": 1.0, "modem": 1.0, "decodeur": 1.0, "decoder": 1.0, "tv box": 1.0,
        "set-top": 1.0, "phone": 0.4, "smartphone": 0.9, "iphone": 0.9, "samsung": 0.8,
        "handset": 1.0, "sim": 0.9, "carte sim": 1.0, "esim": 0.9, "e-sim": 0.9, "livraison": 0.9,
        "delivery": 0.9, "delivered": 0.8, "livre": 0.5, "colis": 0.9, "parcel": 0.9, "package": 0.5,
        "shipped": 0.8, "expedi*": 0.8, "repeteur": 1.0, "repeater": 1.0, "cable": 0.7, "cables": 0.7,
        "ecran": 0.6, "screen": 0.6, "batterie": 0.7, "battery": 0.7, "chargeur": 0.8, "charger": 0.8,
        "appareil*": 0.7, "device*": 0.7, "materiel": 0.9, "equipment": 1.0, "equipement*": 1.0,
        "remote": 0.7, "telecommande": 0.9, "installation": 0.5, "installer": 0.4, "install": 0.4,
        "retour": 0.4, "return": 0.4, "renvoyer": 0.6, "send back": 0.6, "defectueu*": 0.9, "faulty": 0.9,
        "defective": 0.9, "broken": 0.5, "casse": 0.6, "voyant*": 0.8, "light": 0.3, "lights": 0.4,
        "redemarr*": 0.7, "restart*": 0.7, "reboot*": 0.8, "firmware": 0.9, "mise a jour": 0.4, "update": 0.3,
    },
    "roaming": {
        "overseas": 1.0, "travel pass": 1.2, "international rates": 1.2,
        "option monde": 1.2, "pass voyage": 1.2, "zone 3": 0.8, "eu allowance": 1.0, "allowance": 0.4,
        "calls to": 0.6, "appels vers": 0.8, "appeler a": 0.4, "china": 0.9, "chine": 0.9, "croatia": 0.9,
        "croatie": 0.9, "montenegro": 0.9, "albania": 0.9, "albanie": 0.9, "ghana": 0.9, "greece": 0.9, "grece": 0.9,
        "poland": 0.9, "pologne": 0.9, "belgique": 0.8, "belgium": 0.8, "netherlands": 0.8, "pays-bas": 0.8,
        "austria": 0.8, "autriche": 0.8, "ireland": 0.8, "irlande": 0.8, "india": 0.9, "inde": 0.9, "brazil": 0.9,
        "bresil": 0.9, "mexico": 0.9, "mexique": 0.9, "australia": 0.9, "australie": 0.9, "vietnam": 0.9,
        "cote de ivoire": 0.9, "cote d ivoire": 0.9, "cameroun": 0.9, "cameroon": 0.9, "romania": 0.9,
        "roumanie": 0.9, "norway": 0.8, "norvege": 0.8, "iceland": 0.9, "islande": 0.9, "egypt": 0.9, "egypte": 0.9,
        "roaming": 1.0, "itinerance": 1.0, "etranger": 1.0, "abroad": 1.0, "international*": 0.9,
        "hors ue": 1.0, "hors union europeenne": 1.0, "outside the eu": 1.0, "outside eu": 1.0, "europe": 0.6,
        "voyage": 0.7, "travel*": 0.7, "trip": 0.6, "holiday": 0.5, "vacances": 0.5, "pays": 0.5,
        "country": 0.5, "countries": 0.5, "appels internationaux": 1.0, "international calls": 1.0,
        "espagne": 0.8, "italie": 0.8, "portugal": 0.8, "allemagne": 0.8, "maroc": 0.9, "tunisie": 0.9,
        "algerie": 0.9, "usa": 0.9, "etats-unis": 0.9, "etats unis": 0.9, "canada": 0.8, "uk": 0.5,
        "londres": 0.8, "london": 0.7, "spain": 0.8, "italy": 0.8, "germany": 0.8, "morocco": 0.9,
        "switzerland": 0.9, "suisse": 0.9, "japan": 0.9, "japon": 0.9, "thailand": 0.9, "thailande": 0.9,
        "senegal": 0.9, "turkey": 0.9, "turquie": 0.9, "dubai": 0.9, "new york": 0.9, "airport": 0.5,
        "aeroport": 0.5, "border": 0.6, "frontiere": 0.6, "zone 1": 0.7, "zone 2": 0.7,
    },
    "data_protection": {
        "personal information": 1.2, "without my authorization": 0.9, "without permission": 0.6,
        "credit check": 1.0, "in my name": 1.0, "keep calling me": 1.0, "sell me": 0.6, "account info": 0.8,
        "arnaque": 0.6, "e-mail addresses": 0.8, "email addresses": 0.8, "phone numbers": 0.5,
        "adresses e-mail": 0.8, "donnees": 0.5, "lien": 0.3, "link": 0.3,
        "donnees personnelles": 1.0, "personal data": 1.0, "privacy": 1.0, "vie privee": 1.0, "rgpd": 1.0,
        "gdpr": 1.0, "spam*": 0.9, "demarchage": 1.0, "telemarketing": 1.0, "cold call*": 1.0,
        "sms publicitaire*": 1.0, "publicite*": 0.6, "unsubscribe": 0.8, "desinscri*": 0.8, "desabonner": 0.6,
        "mes donnees": 0.9, "consent*": 0.9, "piratage": 0.9, "pirate*": 0.8, "hack*": 0.9, "fuite": 0.9,
        "leak*": 0.9, "breach": 1.0, "securite": 0.6, "security": 0.6, "usurpation": 1.0,
        "identity theft": 1.0, "sold my": 0.9, "revendu*": 0.9, "cnil": 1.0, "third parties": 0.8,
        "partenaires": 0.4, "partners": 0.4, "sim swap": 1.0, "phishing": 1.0,
        "hameconnage": 1.0, "fraud*": 0.5, "arnaque par sms": 0.9, "data protection": 1.0, "supprimer mes": 0.8,
        "delete my": 0.8, "effacement": 0.9, "erasure": 0.9, "acces a mes": 0.7, "access to my": 0.6,
        "harcel*": 0.7, "appels commerciaux": 1.0, "marketing": 0.7, "newsletter": 0.6, "cookies": 0.8,
        "localisation": 0.6, "location data": 0.8, "mot de passe": 0.6, "password": 0.6,
    },
}

# --- urgency -------------------------------------------------------------------------------------------

#: Situations that need action now: a service down, money taken wrongly, fraud, a vulnerable customer.
URGENT_SITUATIONS: dict[str, float] = {
    "outage*": 1.0, "panne*": 1.0, "coupure*": 0.8, "coupe": 0.6, "coupee": 0.6, "cut off": 0.7,
    "no internet": 1.0, "no service": 1.0, "no signal": 0.8,
    "no network": 1.0, "no connection": 0.8, "sans internet": 1.0, "sans reseau": 1.0, "pas de internet": 1.0,
    "plus de internet": 1.0, "pas de reseau": 0.9, "plus de reseau": 1.0, "plus de connexion": 1.0,
    "aucun reseau": 0.9, "zero reseau": 1.0, "pas de tonalite": 1.0, "ne fonctionne plus": 0.8,
    "ne marche plus": 0.8, "rien ne marche": 1.0, "rien ne fonctionne": 1.0, "stopped working": 0.8,
    "completely down": 1.0, "totally down": 1.0, "is down": 0.8, "are down": 0.8, "charged twice": 1.0,
    "double charged": 1.0, "double prelevement": 1.0, "preleve deux fois": 1.0, "facture deux fois": 1.0,
    "overcharg*": 0.8, "surfactur*": 0.8, "fraud*": 1.0, "arnaque par": 0.8, "unauthori*": 1.0,
    "sim swap": 1.0, "piratage": 1.0, "pirate": 0.8, "hacked": 1.0, "usurpation": 1.0, "identity theft": 1.0,
    "compte bloque": 0.8, "account blocked": 0.8, "suspendu*": 0.8, "suspended": 0.8, "line cut": 0.9,
    "ligne coupee": 0.9, "ligne suspendue": 0.9, "emergency": 1.0, "urgence*": 0.9, "medical": 0.7,
    "medecin": 0.5, "hopital": 0.7, "hospital": 0.7, "teletravail": 0.6, "work from home": 0.6,
    "working from home": 0.6, "personne agee": 0.6, "elderly": 0.6, "depuis _ jours": 0.2, "for _ days": 0.2,
    "since _ days": 0.5, "aucune facture": 0.3, "debite*": 0.3, "huge bill": 0.8, "facture enorme": 0.8,
    "1000": 0.3, "bloque": 0.4, "blocked": 0.4, "lost my": 0.4, "perdu mon": 0.4, "vole": 0.6, "stolen": 0.8,
}
#: Asking for speed; counted only next to a concrete problem so "urgent" alone cannot force a ticket.
URGENT_WORDS = frozenset("urgent urgently asap immediately immediatement rapidement vite quickly".split())
URGENT_PHRASES = ("au plus vite", "des que possible", "as soon as possible", "right now", "tout de suite")

# --- prompt injection ----------------------------------------------------------------------------------

#: Regular expressions (on folded text) of instructions aimed at the assistant rather than the operator.
INJECTION_PATTERNS: tuple[str, ...] = (
    r"\b(ignore|disregard|forget|override|bypass)\b.{0,40}\b(instructions?|prompts?|rules|guidelines|system)\b",
    r"\b(oublie[zs]?|ignore[zs]?|ne tiens pas compte)\b.{0,40}\b(consignes?|instructions?|regles|prompt)\b",
    r"(^|\n)\s*(system|assistant|developer)\s*:",
    r"\byou are now\b|\btu es maintenant\b|\bvous etes maintenant\b|\bact as\b|\bpretend (to be|you)\b",
    r"\bnew instructions\b|\bnouvelles? (instructions?|consignes?)\b|\bdeveloper mode\b|\bjailbreak\b",
    r"\b(call|use|invoke|appelle[zr]?|utilise[zr]?)\b.{0,20}\b(tool|outil|function|fonction)\b",
    r"\bcreate_ticket\b|\blookup_customer\b|\bsearch_knowledge_base\b",
    r"\b(refund|rembourse[zr]?)\b.{0,20}\b(me|moi)\b.{0,30}\d[\d\s.,]*\s*(€|eur|euros?|\$|dollars?)",
    r"\b(set|mets?|mettez|classe[zr]?|mark)\b.{0,30}"
    r"\b(churn_risk|churn|sentiment|urgency|urgence|priority|priorite)\b.{0,20}\b(to|a|en|as|comme)\b",
    r"\b(reveal|print|show|affiche[zr]?|montre[zr]?|donne[zr]?)\b.{0,30}"
    r"\b(system prompt|prompt systeme|api key|cle api|instructions)\b",
    r"</?\s*comment\s*>",
)
